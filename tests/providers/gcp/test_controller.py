"""Every GCP annotation and the spec fields that shape a load balancer, through the controller.

Table-driven: the cases run as Services side by side in one cluster (one controller, one
emulator); each creates a Service, checks the GCE state, applies a change, checks again; then
all are deleted and nothing may be left. Then: refusals, loadBalancerIP, node sync across
zones, crashes, throttling and foreign resources.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from google.cloud import compute_v1

from ccm.annotations import gcp as ann
from tests.providers.gcp.cluster import Cluster
from tests.providers.gcp.conftest import NODES, PROJECT, REGION, SPARE
from tests.util import wait_for

Check = Callable[[Cluster, str], None]


def A(**values: str | None) -> dict[str, str | None]:
    """Annotations by declaration name (``NETWORK_TIER="Standard"``), keyed by the declared key."""
    return {getattr(ann, k).key: v for k, v in values.items()}


@dataclasses.dataclass
class Case:
    id: str
    create: Mapping[str, str | None]
    created: Check
    update: Mapping[str, Any]  # annotations to merge, or {"spec": {...}}
    updated: Check
    spec: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    ports: tuple[Mapping[str, Any], ...] | None = None


def rules(c: Cluster, n: str) -> dict[str, dict[str, Any]]:
    lb = c.lb(n)
    return {r["IPProtocol"]: r for name, r in c.gce.of("forwardingRule").items() if name.startswith(lb)}


def firewall(c: Cluster, n: str) -> dict[str, Any]:
    return c.gce.of("firewall")[f"k8s-fw-{c.lb(n)}"]


def backend(c: Cluster, n: str) -> dict[str, Any]:
    return c.gce.of("backendService")[c.lb(n)]


def external(tier: str) -> Check:
    def check(c: Cluster, n: str) -> None:
        (rule,) = rules(c, n).values()
        assert rule["loadBalancingScheme"] == "EXTERNAL" and rule["networkTier"] == tier
        assert rule["IPAddress"] == c.ip(n)
    return check


def internal(subnet: str, global_access: bool) -> Check:
    def check(c: Cluster, n: str) -> None:
        (rule,) = rules(c, n).values()
        assert rule["loadBalancingScheme"] == "INTERNAL" and rule["subnetwork"].endswith(f"/subnetworks/{subnet}")
        assert bool(rule.get("allowGlobalAccess")) is global_access
        assert backend(c, n)["loadBalancingScheme"] == "INTERNAL"
        assert f"{c.lb(n)}-hc" in c.gce.of("firewall") or "k8s-kubernetes-node-hc" in c.gce.of("firewall")
    return check


def ports_are(tcp: list[str] | None, udp: list[str] | None = None, *, all_ports: bool = False) -> Check:
    def check(c: Cluster, n: str) -> None:
        r = rules(c, n)
        if tcp is not None:
            assert r["TCP"].get("ports") == (None if all_ports else tcp) and bool(r["TCP"].get("allPorts")) == all_ports
        assert (r.get("UDP") or {}).get("ports") == udp
        want = [{"IPProtocol": "tcp", "ports": tcp}] if tcp else []
        want += [{"IPProtocol": "udp", "ports": udp}] if udp else []
        assert firewall(c, n)["allowed"] == want
        assert {x["IPAddress"] for x in r.values()} == {c.ip(n)}
    return check


def health(port: int | None) -> Check:
    """port None: the shared kube-proxy check on 10256."""
    def check(c: Cluster, n: str) -> None:
        hc_link = backend(c, n)["healthChecks"][0]
        if port is None:
            assert hc_link.endswith("/healthChecks/k8s-kubernetes-node")
        else:
            assert hc_link.endswith(f"/healthChecks/{c.lb(n)}")
            assert c.gce.of("healthCheck")[c.lb(n)]["httpHealthCheck"]["port"] == port
            assert f"k8s-{c.lb(n)}-http-hc" in c.gce.of("firewall")
    return check


def sources(*ranges: str) -> Check:
    def check(c: Cluster, n: str) -> None:
        assert firewall(c, n)["sourceRanges"] == list(ranges)
        assert firewall(c, n)["destinationRanges"] == [c.ip(n)]
    return check


def affinity(value: str) -> Check:
    def check(c: Cluster, n: str) -> None:
        assert backend(c, n)["sessionAffinity"] == value
    return check


TCP80 = {"name": "http", "port": 80, "protocol": "TCP"}
SIX = tuple({"name": f"p{p}", "port": p, "protocol": "TCP"} for p in (80, 443, 8080, 8443, 9000, 9443))

CASES = (
    Case("internal", A(LOAD_BALANCER_TYPE="Internal"), internal("default", False),
         A(INTERNAL_LOAD_BALANCER_ALLOW_GLOBAL_ACCESS="true"), internal("default", True)),
    Case("internal-subnet", A(LOAD_BALANCER_TYPE="Internal", INTERNAL_LOAD_BALANCER_SUBNET="ilb-subnet"),
         internal("ilb-subnet", False), {}, internal("ilb-subnet", False)),
    Case("tier", A(NETWORK_TIER="Standard"), external("STANDARD"), A(NETWORK_TIER="Premium"), external("PREMIUM")),
    Case("ports", {}, ports_are(["80", "443"]), {"spec": {"ports": [TCP80, {"name": "dns", "port": 53,
                                                                             "protocol": "UDP"}]}},
         ports_are(["80"], ["53"])),
    Case("six-ports", {}, ports_are(["80", "443", "8080", "8443", "9000", "9443"], all_ports=True),
         {"spec": {"ports": [TCP80]}}, ports_are(["80"]), ports=SIX),
    Case("etp", {}, health(None), {"spec": {"externalTrafficPolicy": "Local"}}, health(-1)),
    Case("ranges", {}, sources("0.0.0.0/0"), {"spec": {"loadBalancerSourceRanges": ["10.0.0.0/8", "192.0.2.0/24"]}},
         sources("10.0.0.0/8", "192.0.2.0/24")),
    Case("affinity", {}, affinity("NONE"), {"spec": {"sessionAffinity": "ClientIP"}}, affinity("CLIENT_IP")),
    Case("gke-l7-keys", {**A(NEG='{"ingress": true}', APP_PROTOCOLS='{"http": "HTTP"}')}, external("PREMIUM"),
         {}, external("PREMIUM")),
)


def _hcnp_check(c: Cluster, n: str, check: Check) -> None:
    """health(-1): the Service's own healthCheckNodePort, known only once the API allocated it."""
    if check.__closure__ and any(getattr(cell, "cell_contents", None) == -1 for cell in check.__closure__):
        health(c.get(n).spec.health_check_node_port)(c, n)
    else:
        check(c, n)


def test_every_case_creates_updates_and_deletes(cluster: Cluster):
    c = cluster
    for case in CASES:
        c.service(case.id, case.create, ports=case.ports or (TCP80, {"name": "https", "port": 443, "protocol": "TCP"}),
                  **case.spec)
    for case in CASES:
        c.wait_ip(case.id)
        c.wait(lambda case=case: case.created(c, case.id), f"{case.id} created", service=case.id)
    ips = {case.id: c.ip(case.id) for case in CASES}
    for case in CASES:
        if "spec" in case.update:
            c.replace_spec(case.id, case.update["spec"])
        elif case.update:
            c.set_annotations(case.id, case.update)
    for case in CASES:
        c.wait(lambda case=case: _hcnp_check(c, case.id, case.updated), f"{case.id} updated", service=case.id)
    for case in CASES:
        if case.id != "tier":  # a tier change rebuilds the rule and address (upstream: the IP changes)
            assert c.ip(case.id) == ips[case.id], case.id
    mutations = c.gce.mutations()
    for case in CASES:
        c.delete(case.id)
    wait_for(lambda: all(c.gone(case.id) for case in CASES), 30, message=lambda: f"deletes: {c.gce.names()}")
    assert c.gce.names() == [], "everything of every Service and the shared resources are gone"
    assert c.cloud.inventory().list_owned() == ()
    assert mutations > 0


def test_unsupported_and_invalid_annotations_get_a_warning_and_no_cloud_call(cluster: Cluster):
    c = cluster
    c.service("weighted", A(WEIGHTED_LOAD_BALANCING="pods-per-node"))
    c.service("share", A(LOAD_BALANCER_BACKEND_SHARE="true"))
    c.service("tier", A(NETWORK_TIER="Gold"))
    c.wait_event("weighted", "UnsupportedAnnotation")
    c.wait_event("share", "UnsupportedAnnotation")
    c.wait_event("tier", "Warning")
    c.service("rbs", A(L4_RBS="enabled"))
    c.service("ok")
    c.wait_ip("ok")
    assert c.ip("rbs") is None
    owned = {r.service for r in c.cloud.inventory().list_owned()}
    assert owned == {"", "default/ok"}, owned


def test_a_user_reserved_load_balancer_ip_is_used_and_kept(cluster: Cluster, gce_clients):
    gce_clients.addresses.insert_unary(project=PROJECT, region=REGION, address_resource=compute_v1.Address(name="mine"))
    ip = gce_clients.addresses.get(project=PROJECT, region=REGION, address="mine").address
    c = cluster
    c.service("pinned", loadBalancerIP=ip)
    assert c.wait_ip("pinned") == ip
    c.service("unreserved", loadBalancerIP="35.200.250.250")
    c.wait_event("unreserved", "InvalidLoadBalancerIP")
    c.delete("pinned")
    wait_for(lambda: c.gone("pinned"), 15)
    assert set(c.gce.of("address")) == {"mine"}


def test_nodes_joining_and_leaving_zones_update_the_shared_groups(cluster: Cluster):
    c = cluster
    c.service("a")
    c.service("b")
    c.wait_ip("a")
    c.wait_ip("b")
    for zone, name in SPARE:
        c.add_node(zone, name)
    c.wait(lambda: c.gce.members() == {"us-central1-a": ["node-a1", "node-a2"],
                                       "us-central1-b": ["node-b1", "node-b2"], "us-central1-c": ["node-c1"]},
           "spare nodes in the groups")
    c.wait(lambda: all(len(backend(c, n)["backends"]) == 3 for n in ("a", "b")), "zone c in every backend service")
    c.remove_node(NODES[2][1])
    c.remove_node(SPARE[0][1])
    c.wait(lambda: c.gce.members()["us-central1-a"] == ["node-a1"] and c.gce.members()["us-central1-c"] == [],
           "nodes left the groups")
    c.wait(lambda: all(len(backend(c, n)["backends"]) == 2 for n in ("a", "b")), "zone c left the backends")


def test_a_failed_call_is_retried_until_the_load_balancer_converges(cluster: Cluster):
    c = cluster
    c.emu.faults.fail_nth_mutation(3, 503, after_apply=True)
    c.emu.faults.throttle(0.2, methods="compute.*.get")
    c.service("flaky", ports=(TCP80, {"name": "dns", "port": 53, "protocol": "UDP"}))
    c.wait_ip("flaky", timeout=30)
    c.wait(lambda: ports_are(["80"], ["53"])(c, "flaky"), "converged", timeout=30, service="flaky")
    c.emu.faults.clear()
    assert len(c.gce.of("address")) == 1 and len(rules(c, "flaky")) == 2


def test_a_foreign_resource_with_our_name_is_reported_and_left_alone(cluster: Cluster, gce_clients):
    c = cluster
    svc = c.service("victim", {ann.L4_RBS.key: "enabled"})  # not built by us yet
    lb = c.lb("victim")
    gce_clients.firewalls.insert_unary(project=PROJECT, firewall_resource=compute_v1.Firewall(
        name=f"k8s-fw-{lb}", description="someone else's", allowed=[compute_v1.Allowed(I_p_protocol="tcp")]))
    c.set_annotations("victim", {ann.L4_RBS.key: None})
    c.wait_event("victim", "ForeignLoadBalancer")
    assert c.gce.of("firewall")[f"k8s-fw-{lb}"]["description"] == "someone else's"
    assert svc.metadata.name == "victim"
