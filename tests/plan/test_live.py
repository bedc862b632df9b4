"""``ccm plan --live`` after real reconciles: the diff is empty; after an out-of-band change: the revert.

The controller runs against the embedded API server and a cloud emulator; ``ccm plan --live`` is
then run as a user would (``--kubeconfig`` and the cloud's flags) with ``-o json``.

Adding a cloud is one fixture: a ``LiveCloud`` built on that cloud's controller harness, its name
added to ``LIVE_CLOUDS`` (its emulator fixtures imported in ``conftest.py``). Each cloud's drift is
one out-of-band change through the cloud's own API (AWS: an instance deregistered; GCP: the
traffic firewall's source ranges; Azure: the Service's security rule's source; OpenStack: a
listener's ``allowed_cidrs``), and the plan must be exactly its revert.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccm.cli import main
from providers.adapter.naming import default_load_balancer_name
from tests.util import wait_for


@dataclasses.dataclass
class LiveCloud:
    provider: str
    #: the cloud's flags for ``ccm plan --live`` (endpoint, region, credentials)
    flags: list[str]
    cluster_name: str
    #: create a LoadBalancer Service through the official client (name, annotations)
    create: Callable[[str, dict[str, str]], Any]
    #: wait until the controller has reconciled it (status written)
    ready: Callable[[str], Any]
    #: the event messages on a Service
    events: Callable[[str], list[str]]
    #: change the Service's load balancer behind the controller's back
    drift: Callable[[str], None]
    #: whether a plan (operations in JSON form) is exactly the revert of ``drift``
    reverts: Callable[[str, list[dict[str, Any]]], bool]
    #: annotations the registry rejects for this cloud
    invalid: dict[str, str]
    #: an annotation change (on another resource than ``drift``'s), and whether a plan is exactly what the
    #: adapter does for it
    edit: dict[str, str]
    applies_edit: Callable[[str, list[dict[str, Any]]], bool]


@pytest.fixture
def aws_live(api_client: Any, moto: Any, world: Any) -> Iterator[LiveCloud]:
    from ccm.annotations import aws as aws_ann
    from tests.providers.aws.cluster import running_cluster
    from tests.providers.aws.harness import CLUSTER, REGION

    def uid(name: str) -> str:
        return str(cluster.get(name).metadata.uid)

    def drift(name: str) -> None:
        moto.client("elb").deregister_instances_from_load_balancer(
            LoadBalancerName=default_load_balancer_name(uid(name)), Instances=[{"InstanceId": world.instances[0]}])

    def reverts(name: str, ops: list[dict[str, Any]]) -> bool:
        return [(o["kind"], o["call"]["action"], o["call"]["params"]) for o in ops] == [
            ("update", "register_instances_with_load_balancer",
             {"LoadBalancerName": default_load_balancer_name(uid(name)),
              "Instances": [{"InstanceId": world.instances[0]}]})]

    def applies_edit(name: str, ops: list[dict[str, Any]]) -> bool:
        return [(o["call"]["action"], o["call"]["params"]["LoadBalancerAttributes"]["ConnectionSettings"])
                for o in ops] == [("modify_load_balancer_attributes", {"IdleTimeout": 120})]

    with running_cluster(api_client, moto, world) as cluster:
        yield LiveCloud(
            "aws", ["--aws-endpoint-url", moto.url, "--aws-region", REGION,
                    "--provider-option", "aws-access-key-id=testing",
                    "--provider-option", "aws-secret-access-key=testing"],
            CLUSTER, cluster.service, cluster.wait_hostname, cluster.events, drift, reverts,
            {aws_ann.CONNECTION_IDLE_TIMEOUT.key: "9999"}, {aws_ann.CONNECTION_IDLE_TIMEOUT.key: "120"},
            applies_edit)


def _one(ops: list[dict[str, Any]]) -> dict[str, Any] | None:
    return ops[0] if len(ops) == 1 else None


@pytest.fixture
def gcp_live(api_client: Any, gce: Any, gce_clients: Any) -> Iterator[LiveCloud]:
    """Drift: the traffic firewall's source ranges edited; edit: the network tier (the rule is rebuilt)."""
    from google.cloud import compute_v1

    from ccm.annotations import gcp as gcp_ann
    from tests.providers.gcp.cluster import running_cluster
    from tests.providers.gcp.conftest import CLUSTER, PROJECT, REGION

    def firewall(name: str) -> str:
        return f"k8s-fw-{cluster.lb(name)}"

    def drift(name: str) -> None:
        op = gce_clients.firewalls.patch_unary(project=PROJECT, firewall=firewall(name),
                                               firewall_resource=compute_v1.Firewall(source_ranges=["10.0.0.0/8"]))
        gce_clients.wait(op, "drift")

    def reverts(name: str, ops: list[dict[str, Any]]) -> bool:
        op = _one(ops)
        return op is not None and (op["kind"], op["resource"]["name"], op["call"]["method"]) == (
            "update", firewall(name), "firewalls.patch") and op["call"]["body"]["sourceRanges"] == ["0.0.0.0/0"]

    def applies_edit(name: str, ops: list[dict[str, Any]]) -> bool:
        lb = cluster.lb(name)
        steps = [(o["call"]["method"], o["resource"]["name"]) for o in ops]
        inserted = [o["call"]["body"] for o in ops if o["call"]["method"] == "forwardingRules.insert"]
        return steps == [("forwardingRules.delete", lb), ("forwardingRules.insert", lb)] and \
            inserted[0]["networkTier"] == "STANDARD"

    with running_cluster(api_client, gce) as cluster:
        yield LiveCloud(
            "gcp", ["--gcp-endpoint-url", gce.url, "--gcp-project", PROJECT, "--gcp-region", REGION],
            CLUSTER, cluster.service, cluster.wait_ip, cluster.events, drift, reverts,
            {gcp_ann.NETWORK_TIER.key: "Gold"}, {gcp_ann.NETWORK_TIER.key: "Standard"}, applies_edit)


@pytest.fixture
def azure_live(api_client: Any, arm_server: Any, tmp_path: Path) -> Iterator[LiveCloud]:
    """Drift: the Service's security rule opened to another source; edit: the TCP idle timeout (the rules)."""
    from ccm.annotations import azure as azure_ann
    from providers.azure.names import service_base
    from tests.providers.azure.cluster import running_cluster
    from tests.providers.azure.harness import CLUSTER, NSG, RG, build_world, options

    arm_server.reset()
    world = build_world(arm_server)
    config = {k: v for k, v in options(arm_server).items() if not k.startswith("azure-")}
    (tmp_path / "azure.json").write_text(json.dumps(config))

    def drift(name: str) -> None:
        net = cluster.cloud.clients.network
        nsg = net.network_security_groups.get(RG, NSG)
        for rule in nsg.security_rules:
            if rule.name.startswith(service_base(cluster.uid(name))):
                rule.source_address_prefix = "10.0.0.0/8"
        net.network_security_groups.begin_create_or_update(RG, NSG, nsg).result()

    def reverts(name: str, ops: list[dict[str, Any]]) -> bool:
        op = _one(ops)
        if op is None or (op["kind"], op["resource"]["name"]) != ("update", f"{RG}/{NSG}"):
            return False
        return {r["properties"].get("sourceAddressPrefix") for r in op["call"]["securityRules"]} == {"Internet"}

    def applies_edit(name: str, ops: list[dict[str, Any]]) -> bool:
        op = _one(ops)
        if op is None or (op["kind"], op["resource"]["name"]) != ("update", f"{RG}/{CLUSTER}"):
            return False
        return [r["properties"]["idleTimeoutInMinutes"] for r in op["call"]["loadBalancingRules"]] == [10, 10]

    with running_cluster(api_client, world) as cluster:
        yield LiveCloud(
            "azure", ["--cloud-config", str(tmp_path / "azure.json"), "--azure-endpoint-url", arm_server.url,
                      "--azure-ca-file", arm_server.ca_file],
            CLUSTER, cluster.service, cluster.wait_ip, cluster.events, drift, reverts,
            {azure_ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "999"}, {azure_ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "10"},
            applies_edit)


@pytest.fixture
def openstack_live(api_client: Any, emu: Any, conn_factory: Any, tmp_path: Path) -> Iterator[LiveCloud]:
    """Drift: a listener's allowed_cidrs changed; edit: the pools' balancing method."""
    from ccm.annotations import openstack as os_ann
    from tests.providers.openstack.cluster import running_cluster
    from tests.providers.openstack.conftest import CLUSTER, FAST

    (tmp_path / "cloud.conf").write_text(emu.cloud_conf())

    def drift(name: str) -> None:
        [listener] = [li for li in cluster.octavia("listeners", name) if li["protocol_port"] == 80]
        conn_factory().load_balancer.update_listener(listener["id"], allowed_cidrs=["10.0.0.0/8"])
        emu.settle()

    def reverts(name: str, ops: list[dict[str, Any]]) -> bool:
        op = _one(ops)
        return op is not None and op["call"]["action"] == "update_listener" and \
            op["call"]["params"].get("allowed_cidrs") in (None, ["0.0.0.0/0"]) and \
            "_80_" in op["resource"]["name"]

    def applies_edit(name: str, ops: list[dict[str, Any]]) -> bool:
        return [(o["call"]["action"], o["call"]["params"].get("lb_algorithm")) for o in ops] == [
            ("update_pool", "LEAST_CONNECTIONS")] * 2

    with running_cluster(api_client, emu) as cluster:
        yield LiveCloud(
            "openstack", ["--cloud-config", str(tmp_path / "cloud.conf"),
                          *(f for k, v in FAST.items() for f in ("--provider-option", f"{k}={v}"))],
            CLUSTER, cluster.service, cluster.wait_ip, cluster.events, drift, reverts,
            {os_ann.FLOATING_NETWORK_ID.key: "not-a-uuid"}, {os_ann.LB_METHOD.key: "LEAST_CONNECTIONS"}, applies_edit)


#: one fixture per cloud
LIVE_CLOUDS = ["aws_live", "gcp_live", "azure_live", "openstack_live"]


@pytest.fixture(params=LIVE_CLOUDS)
def live(request: pytest.FixtureRequest) -> LiveCloud:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def plan(live: LiveCloud, kubeconfig: str, *extra: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["plan", "--live", "--provider", live.provider, "--kubeconfig", kubeconfig,
                       "--cluster-name", live.cluster_name, "-o", "json", *live.flags, *extra])
    doc = json.loads(out.getvalue())
    return status, {s["service"]: s for s in doc["services"]}


def test_live_plan_is_empty_after_reconcile_reverts_drift_and_repeats_refusals(
        live: LiveCloud, apiserver: Any, tmp_path: Path) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    live.create("web", {})
    live.create("bad", live.invalid)
    live.ready("web")
    wait_for(lambda: [e for e in live.events("bad") if "InvalidAnnotation" in e], 15,
             message=lambda: f"the InvalidAnnotation event; events: {live.events('bad')}")

    status, plans = plan(live, kubeconfig)
    assert status == 1, "a refused Service makes the plan fail"
    assert plans["default/web"]["outcome"] == "planned"
    assert plans["default/web"]["operations"] == [], "a reconciled Service must plan no change"
    # the refused Service: the very events the controller recorded, from the same code
    assert plans["default/bad"]["outcome"] == "invalid"
    printed = [f"{e['type']} {e['reason']} {e['message']}" for e in plans["default/bad"]["events"]]
    assert printed and set(printed) <= set(live.events("bad")), (printed, live.events("bad"))

    live.drift("web")
    status, plans = plan(live, kubeconfig, "--namespace", "default")
    ops = plans["default/web"]["operations"]
    assert live.reverts("web", ops), f"expected exactly the revert of the drift, got {json.dumps(ops, indent=1)}"

    # one Service from a file, as it would be applied: uid and node ports come from the cluster
    edited = tmp_path / "web.yaml"
    edited.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "web", "namespace": "default", "annotations": live.edit}, "spec": {
        "type": "LoadBalancer", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                  {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}]}}))
    # the drift above is still there: the plan of the file shows both the revert and the edit
    status, plans = plan(live, kubeconfig, "-f", str(edited))
    assert list(plans) == ["default/web"]
    ops = plans["default/web"]["operations"]
    assert live.applies_edit("web", [o for o in ops if not live.reverts("web", [o])]), json.dumps(ops, indent=1)
    assert any(live.reverts("web", [o]) for o in ops)

