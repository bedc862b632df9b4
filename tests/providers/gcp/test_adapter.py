"""The GCP adapter against the GCE emulator over HTTP: lifecycle, steady state, shared groups,
IPs, crashes, throttling and foreign resources."""

from __future__ import annotations

import dataclasses

import pytest
from google.cloud import compute_v1

from emulators.gce import Fault
from providers.port import RetryError, UserError
from tests.providers.gcp.conftest import NODES, PROJECT, REGION, SPARE, make_cloud
from tests.providers.gcp.requests import local, nodes, request
from tests.providers.gcp.state import GceState

LB = "a0b9e5c1a11112222333344445555666"


def _mut(cloud) -> int:
    return cloud.counter.totals()[0]


def test_create_steady_and_delete_leave_nothing(gce, cloud):
    st, lb = GceState(gce), cloud.load_balancer()
    status = lb.ensure(request()).status
    ip = status.ingress[0].ip
    rules = st.of("forwardingRule")
    assert set(rules) == {LB} and rules[LB]["ports"] == ["80", "443"] and rules[LB]["IPAddress"] == ip
    fw = st.of("firewall")[f"k8s-fw-{LB}"]
    assert fw["allowed"] == [{"IPProtocol": "tcp", "ports": ["80", "443"]}]
    assert fw["destinationRanges"] == [ip] and fw["targetTags"] == ["k8s-node"]
    assert "k8s-kubernetes-node-http-hc" in st.of("firewall")
    bs = st.of("backendService")[LB]
    assert bs["healthChecks"][0].endswith("/healthChecks/k8s-kubernetes-node")
    assert st.members() == {"us-central1-a": ["node-a1", "node-a2"], "us-central1-b": ["node-b1"]}
    assert st.of("address") == {}  # one rule: the IP stays ephemeral
    before = _mut(cloud)
    assert lb.ensure(request()).status == status
    assert _mut(cloud) == before, "a steady ensure makes no mutating call"
    assert lb.get(request()).ingress[0].ip == ip
    lb.delete(request())
    assert st.names() == [] and lb.get(request()) is None
    assert cloud.inventory().list_owned() == ()
    lb.delete(request())  # idempotent


def test_more_than_five_ports_forward_all_ports_but_the_firewall_admits_only_the_service_ports(gce, cloud):
    ports = tuple(("TCP", p) for p in (80, 443, 8080, 8443, 9000, 9443))
    cloud.load_balancer().ensure(request(ports=ports))
    st = GceState(gce)
    assert st.of("forwardingRule")[LB].get("allPorts") is True
    assert st.of("firewall")[f"k8s-fw-{LB}"]["allowed"] == [
        {"IPProtocol": "tcp", "ports": ["80", "443", "8080", "8443", "9000", "9443"]}]


def test_tcp_and_udp_share_one_reserved_ip_and_release_it_when_one_protocol_goes(gce, cloud):
    st, lb = GceState(gce), cloud.load_balancer()
    ip = lb.ensure(request()).status.ingress[0].ip
    both = request(ports=(("TCP", 80), ("UDP", 53)))
    assert lb.ensure(both).status.ingress[0].ip == ip
    rules = st.of("forwardingRule")
    assert {r["IPProtocol"]: r["IPAddress"] for r in rules.values()} == {"TCP": ip, "UDP": ip}
    assert st.of("address")[LB]["address"] == ip and st.of("backendService")[LB]["protocol"] == "UNSPECIFIED"
    before = _mut(cloud)
    lb.ensure(both)
    assert _mut(cloud) == before
    assert lb.ensure(request(ports=(("UDP", 53),))).status.ingress[0].ip == ip
    assert set(st.of("forwardingRule")) == {f"{LB}-udp"} and st.of("address") == {}


def test_a_port_change_rebuilds_the_rule_on_the_same_ip(gce, cloud):
    lb = cloud.load_balancer()
    ip = lb.ensure(request()).status.ingress[0].ip
    assert lb.ensure(request(ports=(("TCP", 8080),))).status.ingress[0].ip == ip
    st = GceState(gce)
    assert st.of("forwardingRule")[LB]["ports"] == ["8080"] and st.of("address") == {}
    assert st.of("firewall")[f"k8s-fw-{LB}"]["allowed"] == [{"IPProtocol": "tcp", "ports": ["8080"]}]


def test_a_user_reserved_address_is_used_and_never_released(gce, cloud, gce_clients):
    gce_clients.addresses.insert_unary(project=PROJECT, region=REGION,
                                       address_resource=compute_v1.Address(name="my-ip"))
    ip = gce_clients.addresses.get(project=PROJECT, region=REGION, address="my-ip").address
    lb = cloud.load_balancer()
    req = request(requested_ip=ip, ports=(("TCP", 80), ("UDP", 53)))
    assert lb.ensure(req).status.ingress[0].ip == ip
    st = GceState(gce)
    assert set(st.of("address")) == {"my-ip"}  # no reservation of ours beside it
    lb.ensure(request(requested_ip=ip))
    lb.delete(req)
    assert set(st.of("address")) == {"my-ip"}


def test_an_unreserved_load_balancer_ip_is_a_user_error_before_any_call(gce, cloud):
    with pytest.raises(UserError) as err:
        cloud.load_balancer().ensure(request(requested_ip="35.200.9.9"))
    assert err.value.reason == "InvalidLoadBalancerIP" and "reserve it first" in str(err.value)
    assert [r for r in GceState(gce).names() if not r.startswith("instanceGroup/")] == []


def test_externaltrafficpolicy_switches_health_check_and_collects_the_shared_one(gce, cloud):
    st, lb = GceState(gce), cloud.load_balancer()
    lb.ensure(request())
    lb.ensure(local(request()))
    assert st.of("backendService")[LB]["healthChecks"][0].endswith(f"/healthChecks/{LB}")
    assert st.of("healthCheck")[LB]["httpHealthCheck"]["port"] == 32100
    assert set(st.of("healthCheck")) == {LB}  # the shared one had no other user
    assert set(st.of("firewall")) == {f"k8s-fw-{LB}", f"k8s-{LB}-http-hc"}
    lb.ensure(request())
    assert set(st.of("healthCheck")) == {"k8s-kubernetes-node"}
    assert set(st.of("firewall")) == {f"k8s-fw-{LB}", "k8s-kubernetes-node-http-hc"}


def test_a_node_change_costs_one_group_call_per_zone_for_all_services(gce, cloud):
    lb, st = cloud.load_balancer(), GceState(gce)
    reqs = [request(f"s{i}", uid=f"{i:08d}-aaaa-bbbb-cccc-dddddddddddd") for i in range(3)]
    for r in reqs:
        lb.ensure(r)
    calls = len(gce.mutating_calls())
    grown = nodes(*NODES, *SPARE)  # a node in a new zone (c) and one in zone b
    for r in reqs:
        lb.update(dataclasses.replace(r, nodes=grown))
    methods = [c.method_id for c in gce.mutating_calls()[calls:]]
    group_calls = [m for m in methods if m.startswith("compute.instanceGroups.")]
    # zone b: one addInstances; zone c: insert + addInstances; the 3 services each add zone c to their backends
    assert sorted(group_calls) == ["compute.instanceGroups.addInstances"] * 2 + ["compute.instanceGroups.insert"]
    assert methods.count("compute.regionBackendServices.patch") == 3
    assert st.members()["us-central1-c"] == ["node-c1"]
    calls = len(gce.mutating_calls())
    shrunk = nodes(*NODES[:2], SPARE[1])  # node-a2 leaves zone a (which keeps node-a1); zone c empties
    for r in reqs:
        lb.update(dataclasses.replace(r, nodes=shrunk))
    methods = [c.method_id for c in gce.mutating_calls()[calls:]]
    assert sorted(m for m in methods if m.startswith("compute.instanceGroups.")) == [
        "compute.instanceGroups.removeInstances"] * 2
    assert st.members() == {"us-central1-a": ["node-a1"], "us-central1-b": ["node-b1", "node-b2"],
                            "us-central1-c": []}


def _crash_free_run(gce, k: int) -> None:
    """Crash (the k-th mutating call fails after it took effect), then a fresh provider converges."""
    gce.reset()
    gce.faults.fail_nth_mutation(k, 400, after_apply=k % 2 == 0)
    first = make_cloud(gce)
    req = request(ports=(("TCP", 80), ("UDP", 53)))
    with pytest.raises(Exception):  # noqa: B017 - any failure: the point is what comes after
        first.load_balancer().ensure(req)
    first.close()
    gce.faults.clear()
    again = make_cloud(gce)
    try:
        lb = again.load_balancer()
        lb.ensure(req)
        before = _mut(again)
        lb.ensure(req)
        assert _mut(again) == before, f"k={k}: not converged"
        st = GceState(gce)
        assert len(st.of("forwardingRule")) == 2 and len(st.of("address")) == 1, f"k={k}: {st.names()}"
        lb.delete(req)
        assert st.names() == [], f"k={k}: leaked {st.names()}"
    finally:
        again.close()


def test_a_crash_after_any_mutating_call_converges_without_duplicates_or_leaks(gce):
    probe = make_cloud(gce)
    probe.load_balancer().ensure(request(ports=(("TCP", 80), ("UDP", 53))))
    total = _mut(probe)
    probe.close()
    assert total >= 10
    for k in range(1, total + 1):
        _crash_free_run(gce, k)


def test_a_restarted_provider_collects_a_zones_group_it_never_saw(gce):
    """Found by the crash-point sweep (tests/reliability): the node of zone c leaves, the process
    restarts, and the last Service goes: the new process only knew zones a and b, so zone c's empty
    group stayed behind. Deleting the last backend service checks every zone of the region."""
    first = make_cloud(gce)
    spread = request(nodes=nodes(*NODES, SPARE[0]))
    first.load_balancer().ensure(spread)
    first.load_balancer().update(request())  # zone c's node leaves: its group is emptied, not deleted
    first.close()
    again = make_cloud(gce)
    try:
        again.load_balancer().ensure(request())  # the new process sees zones a and b only
        again.load_balancer().delete(request())
        assert GceState(gce).names() == []
    finally:
        again.close()


def test_throttled_reads_and_5xx_answers_are_retried_within_the_call(gce, cloud):
    """Found by the reliability harness: at 20% failed requests no Service converged, since one 429 among
    an ensure's dozens of reads failed the whole reconcile, and a 503 on an insert was not retried."""
    gce.faults.add(Fault(methods="compute.*.get", status=429, times=3))
    gce.faults.add(Fault(methods="compute.instanceGroups.insert", status=503, times=2))
    gce.faults.add(Fault(methods="compute.regionBackendServices.insert", status=500, after_apply=True, times=1))
    assert cloud.load_balancer().ensure(request()).status.ingress
    assert [f.hits for f in gce.faults.faults] == [3, 2, 1]
    assert sum(cloud.counter.totals()) == len(gce.calls), "every attempt is counted"
    calls = len(gce.mutating_calls())
    cloud.load_balancer().ensure(request())
    assert len(gce.mutating_calls()) == calls, "converged: a steady ensure sends nothing"


def test_throttling_is_retried_then_handed_back_as_retry_error(gce, cloud):
    gce.faults.throttle(0.3, methods="compute.*.insert")
    status = cloud.load_balancer().ensure(request()).status  # retried inside (seeded: it gets through)
    assert status.ingress
    gce.faults.clear()
    gce.faults.throttle(1.0, methods="compute.regionBackendServices.get")
    with pytest.raises(RetryError):
        cloud.load_balancer().ensure(request())


def test_a_resource_with_our_name_and_another_owner_is_never_touched(gce, cloud, gce_clients):
    hc = gce_clients.health_checks
    hc.insert_unary(project=PROJECT, region=REGION, health_check_resource=compute_v1.HealthCheck(
        name="x", type_="TCP", tcp_health_check=compute_v1.TCPHealthCheck(port=1)))
    gce_clients.backend_services.insert_unary(project=PROJECT, region=REGION, backend_service_resource=compute_v1.BackendService(
        name=LB, load_balancing_scheme="EXTERNAL", description='{"kubernetes.io/service-name": "other/svc"}',
        health_checks=[f"projects/{PROJECT}/regions/{REGION}/healthChecks/x"]))
    before = GceState(gce).of("backendService")[LB]
    with pytest.raises(UserError) as err:
        cloud.load_balancer().ensure(request())
    assert err.value.reason == "ForeignLoadBalancer"
    cloud.load_balancer().delete(request())
    assert GceState(gce).of("backendService")[LB] == before
    assert cloud.load_balancer().get(request()) is None


def test_quota_exhaustion_is_a_retry(gce, cloud):
    gce.state.config.quotas["FORWARDING_RULES"] = 0
    with pytest.raises(RetryError, match="Quota 'FORWARDING_RULES' exceeded"):
        cloud.load_balancer().ensure(request())


def test_google_rejections_are_user_errors_with_googles_message(gce, cloud):
    with pytest.raises(UserError, match="subnetworks/nope"):
        cloud.load_balancer().ensure(request(annotations={"networking.gke.io/load-balancer-type": "Internal",
                                                          "networking.gke.io/internal-load-balancer-subnet": "nope"}))


def test_inventory_finds_a_half_made_load_balancer_and_deletes_it(gce, cloud):
    gce.faults.fail_nth_mutation(7, 400)  # groups (4), health check, backend service; not the rule
    with pytest.raises(Exception):  # noqa: B017 - the injected failure
        cloud.load_balancer().ensure(request())
    gce.faults.clear()
    inventory = cloud.inventory()
    owned = inventory.by_service()
    assert set(owned) == {"", "default/web"}, owned
    deleted = inventory.delete_owned("default/web")
    assert {r.resource.type for r in deleted} >= {"compute/region-backend-service"}
    assert inventory.list_owned() == () and GceState(gce).names() == []
    assert inventory.delete_owned("default/web") == ()


def test_a_shared_group_still_used_elsewhere_is_kept_and_the_delete_succeeds(gce, cloud):
    lb = cloud.load_balancer()
    lb.ensure(request())
    gce.faults.add(Fault(methods="compute.instanceGroups.delete", status=400, reason="resourceInUseByAnotherResource",
                         message="used by a global backend service"))
    lb.delete(request())
    st = GceState(gce)
    assert sorted(st.of("instanceGroup")) == ["k8s-ig--kubernetes@us-central1-a", "k8s-ig--kubernetes@us-central1-b"]
    assert "k8s-kubernetes-node" not in st.of("healthCheck")
