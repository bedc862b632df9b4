"""The /status subresource: status writes never touch spec; main writes never touch status."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, api_error, raw

INGRESS = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}


def test_status_write_ignores_spec_but_keeps_metadata(core: Api, make_service) -> None:
    make_service("web", "LoadBalancer")
    out = raw(core.patch_namespaced_service_status, "web", "default",
              {"metadata": {"labels": {"seen": "yes"}, "finalizers": ["example.com/x"]},
               "spec": {"type": "NodePort", "sessionAffinity": "ClientIP"}, **INGRESS})
    assert out["spec"]["type"] == "LoadBalancer" and out["spec"]["sessionAffinity"] == "None"
    assert out["metadata"]["labels"] == {"seen": "yes"}
    assert out["metadata"]["finalizers"] == ["example.com/x"]
    assert out["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.10", "ipMode": "VIP"}]


def test_main_write_ignores_status(core: Api, make_service) -> None:
    make_service("web", "LoadBalancer")
    out = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"a": "b"}}, **INGRESS})
    assert out["status"] == {"loadBalancer": {}}
    raw(core.patch_namespaced_service_status, "web", "default", INGRESS)
    svc = raw(core.read_namespaced_service, "web", "default")
    svc["status"] = {"loadBalancer": {}}
    svc["spec"]["sessionAffinity"] = "ClientIP"
    out = raw(core.replace_namespaced_service, "web", "default", svc)
    assert out["spec"]["sessionAffinity"] == "ClientIP"
    assert out["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.10"


def test_create_clears_status(make_service, core: Api) -> None:
    body = {"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}, **INGRESS}
    assert raw(core.create_namespaced_service, "default", body)["status"] == {"loadBalancer": {}}


def test_status_put_replaces_status_only(core: Api, make_service) -> None:
    svc = make_service("web", "LoadBalancer")
    svc["status"] = INGRESS["status"]
    svc["spec"]["type"] = "ClusterIP"
    out = raw(core.replace_namespaced_service_status, "web", "default", svc)
    assert out["spec"]["type"] == "LoadBalancer"
    assert out["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.10"


@pytest.mark.parametrize(("ingress", "field", "message"), [
    ({"hostname": "lb.example.com", "ipMode": "VIP"}, "status.loadBalancer.ingress[0].ipMode",
     "Forbidden: may not be specified when `ip` is not set"),
    ({"ip": "192.0.2.1", "ipMode": "Tunnel"}, "status.loadBalancer.ingress[0].ipMode",
     'Unsupported value: "Tunnel": supported values: "Proxy", "VIP"'),
    ({"ip": "not-an-ip"}, "status.loadBalancer.ingress[0].ip",
     'Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
    ({"ip": "10.0.0.1", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP", "error": "example.com/Busy"}]},
     None, None),
])
def test_ingress_validation(core: Api, make_service, ingress: dict, field: str | None, message: str | None) -> None:
    make_service("web", "LoadBalancer")
    if field is None:  # accepted as is
        out = raw(core.patch_namespaced_service_status, "web", "default", {"status": {"loadBalancer": {"ingress": [ingress]}}})
        assert out["status"]["loadBalancer"]["ingress"] == [ingress]
        return
    with pytest.raises(k8s.ApiException) as e:
        core.patch_namespaced_service_status("web", "default", {"status": {"loadBalancer": {"ingress": [ingress]}}})
    assert e.value.status == 422
    causes = api_error(e.value)["details"]["causes"]
    assert (causes[0]["field"], causes[0]["message"]) == (field, message)


def test_ip_mode_proxy_and_hostname_accepted(core: Api, make_service) -> None:
    make_service("web", "LoadBalancer")
    out = raw(core.patch_namespaced_service_status, "web", "default", {"status": {"loadBalancer": {"ingress": [
        {"ip": "192.0.2.1", "ipMode": "Proxy"}, {"hostname": "lb.example.com"}]}}})
    assert out["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.1", "ipMode": "Proxy"},
                                                        {"hostname": "lb.example.com"}]


def test_node_status_isolation(core: Api) -> None:
    node = raw(core.create_node, {"metadata": {"name": "n1"}, "spec": {"providerID": "fake://n1"},
                                  "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}})
    assert node["status"]["addresses"] == [{"type": "InternalIP", "address": "10.0.0.1"}]
    out = raw(core.patch_node_status, "n1", {"spec": {"unschedulable": True},
                                             "status": {"addresses": [{"type": "Hostname", "address": "n1"}]}})
    assert "unschedulable" not in out["spec"]
    # addresses merge by type under a strategic merge patch
    assert {a["type"] for a in out["status"]["addresses"]} == {"InternalIP", "Hostname"}
    out = raw(core.patch_node, "n1", {"spec": {"unschedulable": True}, "status": {"addresses": []}})
    assert out["spec"]["unschedulable"] is True and len(out["status"]["addresses"]) == 2
