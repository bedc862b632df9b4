"""Through the controller: the embedded API server (official client) and the ARM emulator over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ccm.annotations import azure as ann
from providers.azure.names import service_base
from tests.providers.azure.cluster import Cluster, running_cluster
from tests.providers.azure.harness import CLUSTER, LOCATION, RG, AzureWorld


@pytest.fixture
def cluster(api_client: Any, world: AzureWorld) -> Iterator[Cluster]:
    with running_cluster(api_client, world) as c:
        yield c


def rules_of(c: Cluster, name: str, internal: bool = False) -> list[str]:
    base = service_base(c.uid(name))
    return [r[len(base) + 1:] for r in c.world.children("loadBalancingRules", internal) if r.startswith(base)]


def test_annotations_changes_and_deletion_side_by_side(cluster: Cluster) -> None:
    c, w = cluster, cluster.world
    c.cloud.clients.network.public_ip_addresses.begin_create_or_update(RG, "byo", {
        "location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}).result()
    c.service("plain")
    c.service("ilb", {ann.LOAD_BALANCER_INTERNAL.key: "true"})
    c.service("tuned", {ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "15", ann.DNS_LABEL_NAME.key: "tuned-web"},
              loadBalancerSourceRanges=["198.51.100.0/24"])
    c.service("byo", {ann.PIP_NAME.key: "byo"})
    for name in ("plain", "ilb", "tuned", "byo"):
        c.wait_ip(name)
    assert c.ip("ilb").startswith("10.240.")
    assert c.ip("byo") == w.public_ip("byo")["properties"]["ipAddress"]
    tuned = service_base(c.uid("tuned"))
    assert w.rule(f"{tuned}-TCP-80")["idleTimeoutInMinutes"] == 15
    assert w.public_ip(f"{CLUSTER}-{tuned}")["properties"]["dnsSettings"]["domainNameLabel"] == "tuned-web"
    assert w.nsg_rules()[f"{tuned}-TCP-IPv4"]["sourceAddressPrefix"] == "198.51.100.0/24"
    assert sorted(rules_of(c, "plain")) == ["TCP-443", "TCP-80"]

    # changes: internal -> public, ETP Local, a new idle timeout, a port added
    c.patch("ilb", {"metadata": {"annotations": {ann.LOAD_BALANCER_INTERNAL.key: None}}})
    c.patch("plain", {"spec": {"externalTrafficPolicy": "Local"}})
    c.patch("tuned", {"metadata": {"annotations": {ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "30"}}})
    c.wait(lambda: rules_of(c, "ilb") == ["TCP-80", "TCP-443"] or sorted(rules_of(c, "ilb")) == ["TCP-443", "TCP-80"],
           "ilb moved to the public load balancer", service="ilb")
    c.wait(lambda: not (c.ip("ilb") or "10.240.").startswith("10.240."), "ilb got a public IP", service="ilb")
    assert w.lb(internal=True) is None  # emptied and removed
    hcnp = c.get("plain").spec.health_check_node_port
    plain = service_base(c.uid("plain"))
    c.wait(lambda: w.children("probes") and f"{plain}-TCP-{hcnp}" in w.children("probes"), "plain probes /healthz",
           service="plain")
    c.wait(lambda: w.rule(f"{tuned}-TCP-80")["idleTimeoutInMinutes"] == 30, "tuned idle timeout 30")

    for name in ("plain", "ilb", "tuned", "byo"):
        c.delete(name)
    c.wait(lambda: all(c.gone(n) for n in ("plain", "ilb", "tuned", "byo")), "Services gone (finalizers removed)")
    assert [i.rsplit("/", 1)[1] for i in w.ours()] == ["byo"]  # the user's public IP stays
    assert list(w.nsg_rules()) == ["allow-ssh"]


def test_unsupported_and_invalid_annotations_make_no_cloud_call(cluster: Cluster) -> None:
    c = cluster
    calls = len(c.world.arm.calls.mutating())
    c.service("pls", {ann.PLS_CREATE.key: "true"})
    c.service("bad", {ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "200"})
    c.wait_event("pls", "UnsupportedAnnotation")
    c.wait_event("bad", "tcp-idle-timeout")
    assert len(c.world.arm.calls.mutating()) == calls and c.world.lb() is None


def test_nodes_join_and_leave_the_backend_pool(cluster: Cluster) -> None:
    c, w = cluster, cluster.world
    c.service("a")
    c.service("b")
    c.wait_ip("a")
    c.wait_ip("b")
    vm = w.add_vm("node-2")
    c.add_node(vm)
    c.wait(lambda: w.nic_pools(vm) == [CLUSTER], "the new node's NIC joins the pool")
    c.core.delete_node(w.vms[0].name)
    c.wait(lambda: w.nic_pools(w.vms[0]) == [], "the removed node's NIC leaves the pool")


def test_many_services_created_and_deleted_concurrently(api_client: Any, world: AzureWorld) -> None:
    with running_cluster(api_client, world, workers=4) as c:
        names = [f"svc-{i}" for i in range(10)]
        for n in names:
            c.service(n)
        for n in names:
            c.wait_ip(n, timeout=40)
        assert len(c.world.children("frontendIPConfigurations")) == 10
        assert len(c.world.children("loadBalancingRules")) == 20
        assert len(c.world.children("probes")) == 20
        for n in names:
            c.delete(n)
        c.wait(lambda: all(c.gone(n) for n in names), "all Services gone", timeout=40)
        assert c.world.ours() == []

