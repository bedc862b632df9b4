"""The node plan as a pure function: endpoint selection, ports by name, policies, ranges."""

from __future__ import annotations

import pytest

from ccm.annotations import aws as aws_ann
from ccm.annotations import common as common_ann
from ccm.proxy import model
from ccm.proxy.engine import Backend
from tests.proxy.objects import endpoint, endpoint_slice, node, port, service

ME = "n1"
ADDR = ("127.0.1.1",)


def plan(svcs, slices, addresses=ADDR, me=ME):  # type: ignore[no-untyped-def]
    by_key: dict = {}
    for s in slices:
        by_key.setdefault(f"default/{s['metadata']['labels']['kubernetes.io/service-name']}", []).append(s)
    return model.plan_node(svcs, by_key, me, addresses)


def backends_of(p: model.NodePlan, node_port: int, protocol: str = "TCP") -> set[tuple[str, int]]:
    _, cfg = p.listeners[(ADDR[0], node_port, protocol)]
    return {(b.ip, b.port) for b in cfg.backends}


def test_named_ports_resolve_per_slice() -> None:
    svc = service("web", [port(30080, name="http", target="http"), port(30443, name="https", target=443)])
    slices = [
        endpoint_slice("web", [endpoint("10.0.0.1", "n1")], [("http", 8080, "TCP"), ("https", 8443, "TCP")],
                       name="web-a"),
        endpoint_slice("web", [endpoint("10.0.0.2", "n2")], [("http", 9090, "TCP"), ("https", 9443, "TCP")],
                       name="web-b"),
    ]
    p = plan([svc], slices)
    assert backends_of(p, 30080) == {("10.0.0.1", 8080), ("10.0.0.2", 9090)}
    assert backends_of(p, 30443) == {("10.0.0.1", 8443), ("10.0.0.2", 9443)}


def test_cluster_policy_falls_back_to_serving_terminating() -> None:
    svc = service("web", [port(30080)])
    eps = [endpoint("10.0.0.1", "n2", ready=False, serving=True, terminating=True),
           endpoint("10.0.0.2", "n2", ready=False, serving=False, terminating=True),
           endpoint("10.0.0.3", "n1", ready=False, serving=False)]
    assert backends_of(plan([svc], [endpoint_slice("web", eps, [("", 8080, "TCP")])]), 30080) == \
        {("10.0.0.1", 8080)}
    eps.append(endpoint("10.0.0.4", "n2"))  # one ready endpoint: no fallback
    assert backends_of(plan([svc], [endpoint_slice("web", eps, [("", 8080, "TCP")])]), 30080) == \
        {("10.0.0.4", 8080)}


def test_local_policy_uses_local_endpoints_and_its_own_fallback() -> None:
    svc = service("web", [port(30080)], type="LoadBalancer", etp="Local", hc_port=32000)
    eps = [endpoint("10.0.0.1", "n1", ready=False, serving=True, terminating=True),
           endpoint("10.0.0.2", "n2"), endpoint("10.0.0.3", "n2")]
    p = plan([svc], [endpoint_slice("web", eps, [("", 8080, "TCP")])])
    # ready endpoints exist elsewhere, but Local looks only here: fallback to the local terminating one
    assert backends_of(p, 30080) == {("10.0.0.1", 8080)}
    # and the health check does not count terminating endpoints
    assert p.health_checks["default/web"] == model.HealthCheckPlan("default", "web", 32000, 0)
    p2 = plan([svc], [endpoint_slice("web", eps, [("", 8080, "TCP")])], me="n2")
    assert p2.health_checks["default/web"].local_endpoints == 2


def test_health_check_counts_distinct_ips_across_ports() -> None:
    svc = service("web", [port(30080, name="a"), port(30081, name="b")], type="LoadBalancer", etp="Local",
                  hc_port=32000)
    eps = [endpoint("10.0.0.1", "n1"), endpoint("10.0.0.2", "n1")]
    p = plan([svc], [endpoint_slice("web", eps, [("a", 1, "TCP"), ("b", 2, "TCP")])])
    assert p.health_checks["default/web"].local_endpoints == 2


def test_health_check_without_node_ports() -> None:
    """allocateLoadBalancerNodePorts=false: no listener, but the health check still runs."""
    svc = service("web", [{"name": "", "protocol": "TCP", "port": 80}], type="LoadBalancer", etp="Local",
                  hc_port=32000)
    p = plan([svc], [])
    assert not p.listeners
    assert p.health_checks["default/web"] == model.HealthCheckPlan("default", "web", 32000, 0)


def test_source_range_entries_are_trimmed() -> None:
    svc = service("a", [port(30080)], type="LoadBalancer", ranges=[" 10.0.0.0/8 "])
    assert plan([svc], []).listeners[(ADDR[0], 30080, "TCP")][1].source_ranges == ("10.0.0.0/8",)


def test_no_health_check_for_cluster_policy_or_nodeport() -> None:
    assert not plan([service("a", [port(30080)], type="LoadBalancer", hc_port=32000)], []).health_checks
    assert not plan([service("b", [port(30081)], etp="Local", hc_port=32001)], []).health_checks


def test_affinity_timeout_and_default() -> None:
    p = plan([service("a", [port(30080)], affinity=60), service("b", [port(30081)], affinity=0)], [])
    assert p.listeners[(ADDR[0], 30080, "TCP")][1].affinity_timeout == 60
    assert p.listeners[(ADDR[0], 30081, "TCP")][1].affinity_timeout == model.DEFAULT_AFFINITY_SECONDS


def test_source_ranges_spec_then_annotation_and_own_load_balancer() -> None:
    ann = {common_ann.LOAD_BALANCER_SOURCE_RANGES.key: "10.0.0.0/8, 192.168.0.0/16"}
    spec_wins = service("a", [port(30080)], type="LoadBalancer", ranges=["1.2.3.0/24"], annotations=ann)
    legacy = service("b", [port(30081)], type="LoadBalancer", annotations=ann)
    hairpin = service("c", [port(30082)], type="LoadBalancer", ranges=["10.0.0.0/8"], ingress=["192.0.2.9"])
    p = plan([spec_wins, legacy, hairpin], [])
    assert p.listeners[(ADDR[0], 30080, "TCP")][1].source_ranges == ("1.2.3.0/24",)
    assert p.listeners[(ADDR[0], 30081, "TCP")][1].source_ranges == ("10.0.0.0/8", "192.168.0.0/16")
    assert p.listeners[(ADDR[0], 30082, "TCP")][1].source_ranges == ("10.0.0.0/8", "192.0.2.9/32")


@pytest.mark.parametrize("annotations", [
    pytest.param({common_ann.LOAD_BALANCER_SOURCE_RANGES.key: "10.0.0.0/33"}, id="bad-range"),
    pytest.param({aws_ann.PROXY_PROTOCOL.key: "yes"}, id="bad-proxy-protocol"),
])
def test_bad_annotation_is_an_error_not_a_listener(annotations: dict[str, str]) -> None:
    p = plan([service("a", [port(30080)], type="LoadBalancer", annotations=annotations)], [])
    assert "default/a" in p.errors and not p.listeners


def test_proxy_protocol_annotation_enables_tcp_only() -> None:
    svc = service("a", [port(30080, name="t"), port(30080, name="u", protocol="UDP")], type="LoadBalancer",
                  annotations={aws_ann.PROXY_PROTOCOL.key: "*"})
    p = plan([svc], [])
    assert p.listeners[(ADDR[0], 30080, "TCP")][1].accept_proxy_protocol is True
    assert p.listeners[(ADDR[0], 30080, "UDP")][1].accept_proxy_protocol is False


def test_proxy_protocol_only_for_a_load_balancer() -> None:
    """A NodePort Service has no load balancer to send PROXY headers: its clients send none."""
    svc = service("a", [port(30080)], annotations={aws_ann.PROXY_PROTOCOL.key: "*"})
    assert plan([svc], []).listeners[(ADDR[0], 30080, "TCP")][1].accept_proxy_protocol is False


def test_sctp_is_skipped_with_a_note() -> None:
    p = plan([service("a", [port(30080, protocol="SCTP")])], [])
    assert not p.listeners and "SCTP" in p.notes["default/a"]


def test_slices_of_other_protocols_or_names_do_not_match() -> None:
    svc = service("a", [port(30080, name="http")])
    s = endpoint_slice("a", [endpoint("10.0.0.1")], [("http", 80, "UDP"), ("other", 81, "TCP")])
    assert backends_of(plan([svc], [s]), 30080) == set()


def test_duplicate_endpoints_across_slices_count_once() -> None:
    svc = service("a", [port(30080)])
    s1 = endpoint_slice("a", [endpoint("10.0.0.1")], [("", 80, "TCP")], name="s1")
    s2 = endpoint_slice("a", [endpoint("10.0.0.1")], [("", 80, "TCP")], name="s2")
    _, cfg = plan([svc], [s1, s2]).listeners[(ADDR[0], 30080, "TCP")]
    assert cfg.backends == (Backend("10.0.0.1", 80),)


def test_listen_addresses() -> None:
    n = node("n1", ["127.0.1.1", "fd00::1"], external=["192.0.2.1"])
    assert model.listen_addresses(n, None) == ("127.0.1.1", "fd00::1")
    assert model.listen_addresses(n, ["192.0.2.0/24"]) == ("192.0.2.1",)
    assert model.listen_addresses(n, ["primary"]) == ("127.0.1.1", "fd00::1")
    assert model.listen_addresses(n, ["localhost", "127.0.0.0/8"]) == ("127.0.0.1", "::1", "127.0.1.1")
    assert model.listen_addresses(n, ["all"]) == ("0.0.0.0",)
    assert model.listen_addresses(None, None) == ()
    with pytest.raises(ValueError, match="nodeport-addresses"):
        model.validate_nodeport_addresses(["primary", "nonsense"])


def test_node_eligible() -> None:
    assert model.node_eligible(node("n1", []))
    assert not model.node_eligible(node("n1", [], deleting=True))
    assert not model.node_eligible(node("n1", [], taints=[model.TO_BE_DELETED_TAINT]))
