"""One validating GCE emulator per session (reset per test) and google-cloud-compute clients on it."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from emulators.gce import GceEmulator

PROJECT, REGION = "proj-1", "us-central1"
ZONES = ("us-central1-a", "us-central1-b")


@pytest.fixture(scope="session")
def gce_server() -> Iterator[GceEmulator]:
    emu = GceEmulator(validate=True)
    emu.add_project(PROJECT, REGION, ZONES)
    emu.add_instance(PROJECT, ZONES[0], "n1", tags=["node"])
    emu.add_instance(PROJECT, ZONES[1], "n2", tags=["node"])
    emu.add_subnetwork(PROJECT, REGION, "other", "10.20.0.0/24")
    emu.baseline()
    with emu:
        yield emu


@pytest.fixture
def emu(gce_server: GceEmulator) -> Iterator[GceEmulator]:
    gce_server.reset()
    yield gce_server
    assert gce_server.schema_violations == [], "responses that do not match the discovery document"


CLIENTS = {
    "fr": compute_v1.ForwardingRulesClient, "bs": compute_v1.RegionBackendServicesClient,
    "hc": compute_v1.RegionHealthChecksClient, "ghc": compute_v1.HealthChecksClient,
    "ig": compute_v1.InstanceGroupsClient, "fw": compute_v1.FirewallsClient, "ad": compute_v1.AddressesClient,
    "inst": compute_v1.InstancesClient, "rops": compute_v1.RegionOperationsClient,
    "gops": compute_v1.GlobalOperationsClient, "zops": compute_v1.ZoneOperationsClient,
    "regions": compute_v1.RegionsClient,
}


@pytest.fixture(scope="session")
def clients(gce_server: GceEmulator) -> SimpleNamespace:
    kw: dict[str, Any] = {"credentials": AnonymousCredentials(), "transport": "rest",
                          "client_options": {"api_endpoint": gce_server.url}}
    return SimpleNamespace(**{k: cls(**kw) for k, cls in CLIENTS.items()})
