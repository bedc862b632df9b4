"""Pure pieces: status conversion and equality, patch bodies, request building."""

from __future__ import annotations

import pytest

from ccm.annotations import common
from ccm.controllers.service import patching, status
from ccm.controllers.service.request import InvalidServiceError, build_request, health_check, source_ranges
from providers.port import HealthCheck, Ingress, LoadBalancerStatus, PortStatus

F = patching.F


def test_status_round_trip_keeps_ports_and_errors():
    api = {"ingress": [{"ip": "192.0.2.1", "ipMode": "Proxy",
                        "ports": [{"port": 80, "protocol": "TCP", "error": "Pending"}]},
                       {"hostname": "lb.example.com"}]}
    assert status.to_api(status.from_api(api)) == api
    assert status.to_api(LoadBalancerStatus()) == {}


def test_ip_mode_normalisation_makes_steady_status_equal():
    from_cloud = LoadBalancerStatus((Ingress(ip="192.0.2.1", ports=(PortStatus(80, "TCP"),)),))
    stored = status.from_api({"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP",
                                           "ports": [{"port": 80, "protocol": "TCP"}]}]})
    assert from_cloud != stored  # upstream's semantic deep-equal would write every time
    assert status.equal(from_cloud, stored)
    assert not status.equal(status.normalise(from_cloud),
                            status.from_api({"ingress": [{"ip": "192.0.2.1", "ipMode": "Proxy",
                                                          "ports": [{"port": 80, "protocol": "TCP"}]}]}))
    hostname_only = LoadBalancerStatus((Ingress(hostname="x.example"),))
    assert status.normalise(hostname_only) == hostname_only


def test_status_equality_sees_ports_and_order():
    a = LoadBalancerStatus((Ingress(ip="1.1.1.1", ports=(PortStatus(80, "TCP"),)),))
    b = LoadBalancerStatus((Ingress(ip="1.1.1.1", ports=(PortStatus(443, "TCP"),)),))
    c = LoadBalancerStatus((Ingress(ip="1.1.1.1", ports=(PortStatus(80, "TCP", "Err"),)),))
    assert not status.equal(a, b) and not status.equal(a, c)
    two = LoadBalancerStatus((Ingress(ip="1.1.1.1"), Ingress(ip="2.2.2.2")))
    assert not status.equal(two, LoadBalancerStatus(tuple(reversed(two.ingress))))


def test_finalizer_patches_are_minimal_upstream_shapes():
    assert patching.add_finalizer_patch(["foo"]) == {
        "metadata": {"$setElementOrder/finalizers": ["foo", F], "finalizers": [F]}}
    assert patching.add_finalizer_patch([]) == {"metadata": {"finalizers": [F]}}
    assert patching.add_finalizer_patch([F]) is None
    assert patching.remove_finalizer_patch(["foo", F]) == {"metadata": {"$deleteFromPrimitiveList/finalizers": [F]}}
    assert patching.remove_finalizer_patch(["foo"]) is None


def test_status_patch_replaces_or_clears_ingress():
    st = LoadBalancerStatus((Ingress(ip="192.0.2.1", ip_mode="VIP"),))
    assert patching.status_patch(st) == {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}}}
    assert patching.status_patch(LoadBalancerStatus()) == {"status": {"loadBalancer": {"ingress": None}}}


def _svc(spec, annotations=None):
    return {"metadata": {"name": "w", "namespace": "n", "uid": "u", "annotations": annotations or {}}, "spec": spec}


@pytest.mark.parametrize(("spec", "legacy", "expected"), [
    pytest.param({}, None, (("0.0.0.0/0",), False), id="default"),
    pytest.param({"loadBalancerSourceRanges": [" 10.0.0.1/8 "]}, None, (("10.0.0.0/8",), True), id="spec-sloppy"),
    pytest.param({"loadBalancerSourceRanges": ["10.0.0.0/8"]}, "192.168.0.0/16", (("10.0.0.0/8",), True),
                 id="spec-wins"),
    pytest.param({}, "192.168.0.0/16, 10.1.0.0/16", (("192.168.0.0/16", "10.1.0.0/16"), True), id="legacy"),
    pytest.param({"loadBalancerSourceRanges": []}, None, (("0.0.0.0/0",), False), id="empty-spec"),
])
def test_source_ranges(spec, legacy, expected):
    annotations = {common.LOAD_BALANCER_SOURCE_RANGES.key: legacy} if legacy is not None else {}
    assert source_ranges(_svc(spec, annotations)) == expected


def test_invalid_source_ranges_are_errors_with_upstream_text():
    with pytest.raises(InvalidServiceError, match=r"service.Spec.LoadBalancerSourceRanges: \[nope\] is not valid"):
        source_ranges(_svc({"loadBalancerSourceRanges": ["nope"]}))
    with pytest.raises(InvalidServiceError, match="Expecting a comma-separated list of source IP ranges"):
        source_ranges(_svc({}, {common.LOAD_BALANCER_SOURCE_RANGES.key: "10.0.0.0/8,bad"}))


def test_health_check_only_for_local_with_port():
    assert health_check({"externalTrafficPolicy": "Local", "healthCheckNodePort": 32100}) == HealthCheck("/healthz", 32100)
    assert health_check({"externalTrafficPolicy": "Cluster", "healthCheckNodePort": 32100}) is None
    assert health_check({"externalTrafficPolicy": "Local"}) is None


def test_build_request_maps_the_service():
    svc = {
        "metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "labels": {"a": "b"}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080,
                                                    "targetPort": "web", "appProtocol": "http"}],
                 "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                 "externalTrafficPolicy": "Local", "healthCheckNodePort": 32001, "loadBalancerIP": "192.0.2.9",
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}},
    }
    nodes = [{"metadata": {"name": "n1", "labels": {"zone": "a"}}, "spec": {"providerID": "fake://n1"},
              "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}]
    req = build_request(svc, nodes, {}, cluster_name="c1")
    assert (req.key, req.uid, req.cluster_name) == ("ns/web", "u-1", "c1")
    assert req.ports[0].target_port == "web" and req.ports[0].node_port == 30080
    assert req.nodes[0].provider_id == "fake://n1" and req.nodes[0].address_of("InternalIP") == "10.0.0.1"
    assert req.health_check == HealthCheck("/healthz", 32001)
    assert (req.session_affinity, req.session_affinity_timeout) == ("ClientIP", 60)
    assert req.requested_ip == "192.0.2.9" and req.current_ips == ("192.0.2.9",)
    assert req.source_ranges == ("0.0.0.0/0",) and not req.source_ranges_set


def test_build_request_lenient_never_raises():
    svc = {"metadata": {"name": "w", "namespace": "n", "uid": "u"}, "spec": {"loadBalancerSourceRanges": ["x"]}}
    with pytest.raises(InvalidServiceError):
        build_request(svc, [], {}, cluster_name="c")
    assert build_request(svc, [], {}, cluster_name="c", lenient=True).source_ranges == ("0.0.0.0/0",)
