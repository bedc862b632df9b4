"""Fixtures: one validating GCE emulator per session (reset per test), its world, a fresh GCP provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.gce import GceEmulator
from providers.port import ProviderContext

PROJECT, REGION, CLUSTER = "ccm-test", "us-central1", "kubernetes"
ZONES = ("us-central1-a", "us-central1-b", "us-central1-c")
#: the VMs behind the cluster's Nodes (zone, name); "spare" ones join in node tests
NODES = (("us-central1-a", "node-a1"), ("us-central1-b", "node-b1"), ("us-central1-a", "node-a2"))
SPARE = (("us-central1-c", "node-c1"), ("us-central1-b", "node-b2"))
NODE_TAG = "k8s-node"


def provider_id(zone: str, name: str) -> str:
    return f"gce://{PROJECT}/{zone}/{name}"


@pytest.fixture(scope="session")
def gce_server() -> Iterator[GceEmulator]:
    emu = GceEmulator(validate=True)
    emu.add_project(PROJECT, REGION, ZONES)
    emu.add_subnetwork(PROJECT, REGION, "ilb-subnet", "10.30.0.0/24")
    for zone, name in NODES + SPARE:
        emu.add_instance(PROJECT, zone, name, tags=[NODE_TAG])
    emu.baseline()
    with emu:
        yield emu


@pytest.fixture
def gce(gce_server: GceEmulator) -> Iterator[GceEmulator]:
    gce_server.reset()
    yield gce_server
    assert gce_server.schema_violations == [], "emulator responses off the discovery document"


def make_cloud(emu: GceEmulator, **options: str) -> Any:
    from providers.gcp import create

    return create(ProviderContext(cluster_name=CLUSTER, options={
        "gcp-endpoint-url": emu.url, "gcp-project": PROJECT, "gcp-region": REGION, **options}))


@pytest.fixture
def cloud(gce: GceEmulator) -> Iterator[Any]:
    c = make_cloud(gce)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def cluster(api_client: Any, gce: GceEmulator) -> Iterator[Any]:
    """The controller (embedded API server + official client) driving the GCP provider against the emulator."""
    from tests.providers.gcp.cluster import running_cluster

    with running_cluster(api_client, gce) as c:
        yield c


@pytest.fixture(scope="session")
def gce_clients(gce_server: GceEmulator) -> Any:
    """Uncounted SDK clients for arranging the world (never the provider's)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import compute_v1

    from providers.gcp.clients import Clients

    kw: dict[str, Any] = {"credentials": AnonymousCredentials(), "transport": "rest",
                          "client_options": {"api_endpoint": gce_server.url}}
    names = {"forwarding_rules": compute_v1.ForwardingRulesClient,
             "backend_services": compute_v1.RegionBackendServicesClient,
             "health_checks": compute_v1.RegionHealthChecksClient, "firewalls": compute_v1.FirewallsClient,
             "addresses": compute_v1.AddressesClient, "instance_groups": compute_v1.InstanceGroupsClient,
             "instances": compute_v1.InstancesClient, "regions": compute_v1.RegionsClient,
             "region_operations": compute_v1.RegionOperationsClient,
             "global_operations": compute_v1.GlobalOperationsClient,
             "zone_operations": compute_v1.ZoneOperationsClient}
    return Clients(project=PROJECT, region=REGION, **{k: cls(**kw) for k, cls in names.items()})
