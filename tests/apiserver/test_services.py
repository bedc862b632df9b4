"""Service strategy: defaulting, ClusterIP/NodePort/healthCheckNodePort allocation, validation."""

from __future__ import annotations

import ipaddress

import kubernetes.client as k8s
import pytest

from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import Api, api_error, raw, service_body


def causes(exc: k8s.ApiException) -> list[tuple[str, str]]:
    return [(c["field"], c["message"]) for c in api_error(exc)["details"]["causes"]]


def create_error(core: Api, body: dict) -> k8s.ApiException:
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("default", body)
    assert e.value.status == 422, e.value.body
    return e.value


def test_defaults_for_a_cluster_ip_service(make_service) -> None:
    s = make_service("web", ports=[{"port": 80}])["spec"]
    assert ipaddress.ip_address(s["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")
    assert s["clusterIPs"] == [s["clusterIP"]]
    assert s["ipFamilies"] == ["IPv4"] and s["ipFamilyPolicy"] == "SingleStack"
    assert s["sessionAffinity"] == "None" and s["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in s and "allocateLoadBalancerNodePorts" not in s
    assert s["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]


def test_defaults_for_a_load_balancer(make_service) -> None:
    svc = make_service("web", "LoadBalancer", sessionAffinity="ClientIP")
    s = svc["spec"]
    assert s["externalTrafficPolicy"] == "Cluster" and s["allocateLoadBalancerNodePorts"] is True
    assert s["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert 30000 <= s["ports"][0]["nodePort"] <= 32767
    assert "healthCheckNodePort" not in s
    assert svc["status"] == {"loadBalancer": {}}


def test_headless_and_explicit_cluster_ips(core: Api, make_service) -> None:
    headless = make_service("h", clusterIP="None")["spec"]
    assert headless["clusterIP"] == "None" and headless["clusterIPs"] == ["None"]
    fixed = make_service("fixed", clusterIP="10.96.0.10")["spec"]
    assert fixed["clusterIPs"] == ["10.96.0.10"]
    err = create_error(core, service_body("dup", clusterIP="10.96.0.10"))
    assert causes(err) == [("spec.clusterIPs", 'Invalid value: []string{"10.96.0.10"}: failed to allocate IP '
                                                "10.96.0.10: provided IP is already allocated")]
    err = create_error(core, service_body("out", clusterIP="192.168.0.1"))
    assert "is not in the valid range" in causes(err)[0][1]
    # deleting the Service releases its ClusterIP at once
    core.delete_namespaced_service("fixed", "default")
    assert make_service("again", clusterIP="10.96.0.10")["spec"]["clusterIP"] == "10.96.0.10"


def test_configurable_service_cidr() -> None:
    with embedded_apiserver(service_cidr="10.0.0.0/24") as server:
        client = server.api_client()
        try:
            out = raw(k8s.CoreV1Api(client).create_namespaced_service, "default", service_body("web"))
        finally:
            client.close()
    assert ipaddress.ip_address(out["spec"]["clusterIP"]) in ipaddress.ip_network("10.0.0.0/24")


def test_node_port_allocation_reuse_and_conflicts(core: Api, make_service) -> None:
    a = make_service("a", "NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert a["spec"]["ports"][0]["nodePort"] == 30080
    err = create_error(core, service_body("b", "NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert causes(err) == [("spec.ports[0].nodePort", "Invalid value: 30080: provided port is already allocated")]
    err = create_error(core, service_body("c", "NodePort", ports=[{"port": 80, "nodePort": 40000}]))
    assert causes(err)[0][1].endswith("provided port is not in the valid range. The range of valid ports is "
                                      "30000-32767")
    core.delete_namespaced_service("a", "default")
    again = make_service("b", "NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert again["spec"]["ports"][0]["nodePort"] == 30080


def test_same_port_for_tcp_and_udp_shares_one_node_port(make_service) -> None:
    svc = make_service("dns", "NodePort", ports=[{"name": "tcp", "port": 53, "protocol": "TCP"},
                                                 {"name": "udp", "port": 53, "protocol": "UDP"}])
    tcp, udp = svc["spec"]["ports"]
    assert tcp["nodePort"] == udp["nodePort"]
    explicit = make_service("dns2", "NodePort", ports=[
        {"name": "tcp", "port": 53, "protocol": "TCP", "nodePort": 30053},
        {"name": "udp", "port": 53, "protocol": "UDP", "nodePort": 30053}])
    assert [p["nodePort"] for p in explicit["spec"]["ports"]] == [30053, 30053]


def test_allocate_load_balancer_node_ports_false(make_service) -> None:
    svc = make_service("web", "LoadBalancer", allocateLoadBalancerNodePorts=False)
    assert "nodePort" not in svc["spec"]["ports"][0]
    assert svc["spec"]["allocateLoadBalancerNodePorts"] is False


def test_health_check_node_port_for_local_traffic_policy(core: Api, make_service) -> None:
    svc = make_service("web", "LoadBalancer", externalTrafficPolicy="Local")
    hc = svc["spec"]["healthCheckNodePort"]
    assert 30000 <= hc <= 32767 and hc != svc["spec"]["ports"][0]["nodePort"]
    # explicit, and a conflict with an allocated one
    make_service("fixed", "LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=31000)
    err = create_error(core, service_body("dup", "LoadBalancer", externalTrafficPolicy="Local",
                                          healthCheckNodePort=31000))
    assert causes(err)[0][0] == "spec.healthCheckNodePort"
    assert "provided port is already allocated" in causes(err)[0][1]
    # switching to Cluster releases it: another Service can take it at once
    out = raw(core.patch_namespaced_service, "web", "default", {"spec": {"externalTrafficPolicy": "Cluster"}})
    assert "healthCheckNodePort" not in out["spec"]
    taken = make_service("taker", "NodePort", ports=[{"port": 80, "nodePort": hc}])
    assert taken["spec"]["ports"][0]["nodePort"] == hc
    # only LoadBalancer + Local may carry one
    err = create_error(core, service_body("bad", "NodePort", healthCheckNodePort=31500))
    assert causes(err)[0][1].startswith("Invalid value: 31500: may only be set when `type` is 'LoadBalancer'")


def test_type_changes_allocate_and_release(core: Api, make_service) -> None:
    svc = make_service("web", "ClusterIP")
    ip = svc["spec"]["clusterIP"]
    lb = raw(core.patch_namespaced_service, "web", "default", {"spec": {"type": "LoadBalancer"}})
    np = lb["spec"]["ports"][0]["nodePort"]
    assert 30000 <= np <= 32767 and lb["spec"]["clusterIP"] == ip
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    raw(core.patch_namespaced_service_status, "web", "default",
        {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}})
    back = raw(core.patch_namespaced_service, "web", "default", {"spec": {"type": "ClusterIP"}})
    s = back["spec"]
    assert "nodePort" not in s["ports"][0]
    assert "externalTrafficPolicy" not in s and "allocateLoadBalancerNodePorts" not in s
    assert back["status"] == {"loadBalancer": {}}
    assert s["clusterIP"] == ip
    again = make_service("other", "NodePort", ports=[{"port": 80, "nodePort": np}])
    assert again["spec"]["ports"][0]["nodePort"] == np


def test_put_without_allocated_values_keeps_them(core: Api, make_service) -> None:
    svc = make_service("web", "LoadBalancer", ports=[{"name": "http", "port": 80}], externalTrafficPolicy="Local")
    body = service_body("web", "LoadBalancer", ports=[{"name": "http", "port": 80}], externalTrafficPolicy="Local")
    out = raw(core.replace_namespaced_service, "web", "default", body)
    assert out["spec"]["clusterIP"] == svc["spec"]["clusterIP"]
    assert out["spec"]["ports"][0]["nodePort"] == svc["spec"]["ports"][0]["nodePort"]
    assert out["spec"]["healthCheckNodePort"] == svc["spec"]["healthCheckNodePort"]


def test_cluster_ip_is_immutable(core: Api, make_service) -> None:
    make_service("web", clusterIP="10.96.0.20")
    with pytest.raises(k8s.ApiException) as e:
        core.patch_namespaced_service("web", "default", {"spec": {"clusterIP": "10.96.0.21",
                                                                  "clusterIPs": ["10.96.0.21"]}})
    assert e.value.status == 422
    assert causes(e.value)[0][0] == "spec.clusterIPs[0]"


@pytest.mark.parametrize(("name", "ok"), [("123-abc", True), ("web", True), ("123_abc", False), ("-web", False)])
def test_port_name_rules(core: Api, name: str, ok: bool) -> None:
    body = service_body("svc", ports=[{"name": name, "port": 80}, {"name": "other", "port": 81}])
    if ok:
        assert raw(core.create_namespaced_service, "default", body)["spec"]["ports"][0]["name"] == name
    else:
        err = create_error(core, body)
        assert causes(err)[0][0] == "spec.ports[0].name"
        assert "RFC 1123 label" in causes(err)[0][1]


def test_port_names_required_unique_and_port_protocol_pairs_unique(core: Api) -> None:
    err = create_error(core, service_body("a", ports=[{"port": 80}, {"port": 81}]))
    assert causes(err) == [("spec.ports[0].name", "Required value"), ("spec.ports[1].name", "Required value")]
    err = create_error(core, service_body("b", ports=[{"name": "x", "port": 80}, {"name": "x", "port": 81}]))
    assert causes(err) == [("spec.ports[1].name", 'Duplicate value: "x"')]
    err = create_error(core, service_body("c", ports=[{"name": "x", "port": 80}, {"name": "y", "port": 80}]))
    assert causes(err)[0][0] == "spec.ports[1]" and causes(err)[0][1].startswith("Duplicate value")
    assert api_error(err)["message"] == ('Service "c" is invalid: spec.ports[1]: Duplicate value: {"Name":"",'
                                         '"Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}')


def test_protocols_and_port_ranges(core: Api) -> None:
    err = create_error(core, service_body("a", ports=[{"port": 80, "protocol": "HTTP"}]))
    assert causes(err) == [("spec.ports[0].protocol",
                            'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"')]
    err = create_error(core, service_body("b", ports=[{"port": 70000}]))
    assert ("spec.ports[0].port", "Invalid value: 70000: must be between 1 and 65535, inclusive") in causes(err)
    err = create_error(core, service_body("c", ports=[]))
    assert causes(err) == [("spec.ports", "Required value")]
    err = create_error(core, service_body("d", ports=[{"port": 80, "nodePort": 30001}]))
    assert causes(err) == [("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")]


def test_load_balancer_source_ranges_must_be_cidrs(core: Api, make_service) -> None:
    ok = make_service("ok", "LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8", " 192.168.1.0/24"])
    assert ok["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8", " 192.168.1.0/24"]
    err = create_error(core, service_body("bad", "LoadBalancer", loadBalancerSourceRanges=["10.0.0.1"]))
    # upstream's field path is capitalised here
    assert causes(err) == [("spec.LoadBalancerSourceRanges[0]", 'Invalid value: "10.0.0.1": must be a valid CIDR '
                                                                  "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    err = create_error(core, {"metadata": {"name": "ann", "annotations": {
        "service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8,bogus"}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    assert causes(err) == [("metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]",
                            'Invalid value: "bogus": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')]
    err = create_error(core, service_body("cip", loadBalancerSourceRanges=["10.0.0.0/8"]))
    assert causes(err)[0][1] == "Forbidden: may only be used when `type` is 'LoadBalancer'"


def test_load_balancer_class_rules(core: Api, make_service) -> None:
    make_service("web", "LoadBalancer", loadBalancerClass="example.com/lb")
    with pytest.raises(k8s.ApiException) as e:
        core.patch_namespaced_service("web", "default", {"spec": {"loadBalancerClass": "example.com/other"}})
    assert e.value.status == 422
    assert causes(e.value) == [("spec.loadBalancerClass", 'Invalid value: "example.com/other": may not change '
                                                          "once set")]
    err = create_error(core, service_body("np", "NodePort", loadBalancerClass="example.com/lb"))
    assert causes(err) == [("spec.loadBalancerClass", "Forbidden: may only be used when `type` is 'LoadBalancer'")]
    # changing the type away drops an unchanged class, as kube-apiserver does
    out = raw(core.patch_namespaced_service, "web", "default", {"spec": {"type": "ClusterIP"}})
    assert "loadBalancerClass" not in out["spec"]


def test_external_traffic_policy_only_for_external_services(core: Api) -> None:
    err = create_error(core, service_body("a", externalTrafficPolicy="Local"))
    assert causes(err) == [("spec.externalTrafficPolicy",
                            'Invalid value: "Local": may only be set for externally-accessible services')]
    err = create_error(core, service_body("b", "LoadBalancer", externalTrafficPolicy="Nowhere"))
    assert causes(err)[0][1].startswith('Unsupported value: "Nowhere"')


def test_invalid_request_leaves_nothing_allocated(core: Api, make_service) -> None:
    create_error(core, service_body("bad", "NodePort", ports=[{"port": 80, "nodePort": 30099, "protocol": "X"}],
                                    clusterIP="10.96.0.99"))
    ok = make_service("good", "NodePort", ports=[{"port": 80, "nodePort": 30099}], clusterIP="10.96.0.99")
    assert ok["spec"]["ports"][0]["nodePort"] == 30099


def test_single_stack_cluster_rejects_other_families(core: Api, make_service) -> None:
    err = create_error(core, service_body("v6", ipFamilies=["IPv6"]))
    assert causes(err) == [("spec.ipFamilies[0]", 'Invalid value: "IPv6": not configured on this cluster')]
    err = create_error(core, service_body("ds", ipFamilyPolicy="RequireDualStack"))
    assert causes(err)[0][0] == "spec.ipFamilyPolicy"
    prefer = make_service("prefer", ipFamilyPolicy="PreferDualStack")["spec"]
    assert prefer["ipFamilies"] == ["IPv4"] and len(prefer["clusterIPs"]) == 1
    headless = raw(core.create_namespaced_service, "default",
                   {"metadata": {"name": "hl"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}})["spec"]
    assert headless["ipFamilyPolicy"] == "RequireDualStack" and headless["ipFamilies"] == ["IPv4"]


def test_status_ingress_forbidden_unless_load_balancer(core: Api, make_service) -> None:
    make_service("web")
    with pytest.raises(k8s.ApiException) as e:
        core.patch_namespaced_service_status("web", "default",
                                             {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}})
    assert causes(e.value) == [("status.loadBalancer.ingress",
                                "Forbidden: may only be used when `spec.type` is 'LoadBalancer'")]


def test_external_ips_and_session_affinity_rules(core: Api) -> None:
    err = create_error(core, service_body("a", externalIPs=["127.0.0.1"]))
    assert causes(err) == [("spec.externalIPs[0]",
                            'Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)')]
    err = create_error(core, service_body("b", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 5}}))
    assert causes(err) == [("spec.sessionAffinityConfig", "Forbidden: must not be set when session affinity is None")]
    err = create_error(core, service_body("c", sessionAffinity="ClientIP",
                                          sessionAffinityConfig={"clientIP": {"timeoutSeconds": 90000}}))
    assert causes(err)[0][1] == "Invalid value: 90000: must be greater than 0 and less than 86400"


def test_allocation_failing_part_way_gives_back_what_it_took(core: Api, make_service) -> None:
    """A nodePort conflict on the second port must release the clusterIP and first nodePort already taken."""
    make_service("holder", "NodePort", ports=[{"port": 80, "nodePort": 30200}])
    err = create_error(core, service_body("bad", "NodePort", clusterIP="10.96.0.77",
                                          ports=[{"name": "a", "port": 80, "nodePort": 30201},
                                                 {"name": "b", "port": 81, "nodePort": 30200}]))
    assert causes(err) == [("spec.ports[1].nodePort", "Invalid value: 30200: provided port is already allocated")]
    ok = make_service("good", "NodePort", clusterIP="10.96.0.77", ports=[{"port": 80, "nodePort": 30201}])
    assert ok["spec"]["clusterIP"] == "10.96.0.77" and ok["spec"]["ports"][0]["nodePort"] == 30201
    # the same on update: a type change whose second nodePort is taken keeps nothing of the first
    make_service("up", ports=[{"name": "a", "port": 80}, {"name": "b", "port": 81}])
    body = service_body("up", "NodePort", ports=[{"name": "a", "port": 80, "nodePort": 30202},
                                                 {"name": "b", "port": 81, "nodePort": 30200}])
    with pytest.raises(k8s.ApiException) as exc:
        core.replace_namespaced_service("up", "default", body)
    assert exc.value.status == 422
    assert make_service("c", "NodePort", ports=[{"port": 80, "nodePort": 30202}])["spec"]["ports"][0]["nodePort"] \
        == 30202
