"""EndpointSlice validation as kube-apiserver does it, and the allow_loopback_endpoints option."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import Api, api_error, raw, request


def slice_body(name: str = "web-1", address_type: str | None = "IPv4", addresses: list[str] | None = None,
               **extra: object) -> dict:
    body: dict = {"metadata": {"name": name, "labels": {"kubernetes.io/service-name": "web"}},
                  "endpoints": [{"addresses": addresses or ["10.0.0.1"], "conditions": {"ready": True}}],
                  "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], **extra}
    if address_type is not None:
        body["addressType"] = address_type
    return body


def invalid(api: Api, body: dict) -> list[tuple[str, str]]:
    with pytest.raises(k8s.ApiException) as e:
        api.create_namespaced_endpoint_slice("default", body)
    assert e.value.status == 422, e.value.body
    return [(c["field"], c["message"]) for c in api_error(e.value)["details"]["causes"]]


def test_valid_slice_round_trips_with_generation(discovery_api: Api) -> None:
    out = raw(discovery_api.create_namespaced_endpoint_slice, "default", slice_body())
    assert out["kind"] == "EndpointSlice" and out["apiVersion"] == "discovery.k8s.io/v1"
    assert out["metadata"]["generation"] == 1
    listed = discovery_api.list_namespaced_endpoint_slice("default", label_selector="kubernetes.io/service-name=web")
    assert [s.metadata.name for s in listed.items] == ["web-1"]
    assert listed.items[0].endpoints[0].addresses == ["10.0.0.1"]
    same = raw(discovery_api.patch_namespaced_endpoint_slice, "web-1", "default", {"metadata": {"annotations": {"a": "b"}}})
    assert same["metadata"]["generation"] == 1  # metadata-only changes do not bump it


def test_address_type_required_and_enumerated(discovery_api: Api) -> None:
    # the client model insists on addressType too, so send the JSON as is
    status, body = request(discovery_api.api_client, "POST",
                           "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", slice_body(address_type=None))
    assert status == 422
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                          "field": "addressType"}]
    assert invalid(discovery_api, slice_body(address_type="IPv5"))[0] == (
        "addressType", 'Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"')


def test_addresses_must_match_the_address_type(discovery_api: Api) -> None:
    assert invalid(discovery_api, slice_body(addresses=["fd00::1"])) == [
        ("endpoints[0].addresses[0]", 'Invalid value: "fd00::1": must be a valid IPv4 address')]
    assert invalid(discovery_api, slice_body(address_type="IPv6", addresses=["10.0.0.1"])) == [
        ("endpoints[0].addresses[0]", 'Invalid value: "10.0.0.1": must be a valid IPv6 address')]
    raw(discovery_api.create_namespaced_endpoint_slice, "default",
        slice_body("fqdn", address_type="FQDN", addresses=["backend.example.com"]))


@pytest.mark.parametrize(("address_type", "address", "message"), [
    ("IPv4", "127.0.0.1", "may not be in the loopback range (127.0.0.0/8, ::1/128)"),
    ("IPv4", "127.5.5.5", "may not be in the loopback range (127.0.0.0/8, ::1/128)"),
    ("IPv6", "::1", "may not be in the loopback range (127.0.0.0/8, ::1/128)"),
    ("IPv4", "169.254.1.1", "may not be in the link-local range (169.254.0.0/16, fe80::/10)"),
    ("IPv6", "fe80::1", "may not be in the link-local range (169.254.0.0/16, fe80::/10)"),
    ("IPv4", "0.0.0.0", "may not be unspecified (0.0.0.0)"),
])
def test_special_addresses_rejected(discovery_api: Api, address_type: str, address: str,
                                    message: str) -> None:
    assert invalid(discovery_api, slice_body(address_type=address_type, addresses=[address])) == [
        ("endpoints[0].addresses[0]", f'Invalid value: "{address}": {message}')]


def test_allow_loopback_endpoints_option() -> None:
    with embedded_apiserver(allow_loopback_endpoints=True) as server:
        client = server.api_client()
        try:
            api: Api = k8s.DiscoveryV1Api(client)
            out = raw(api.create_namespaced_endpoint_slice, "default", slice_body(addresses=["127.0.0.1"]))
            assert out["endpoints"][0]["addresses"] == ["127.0.0.1"]
            # only loopback is relaxed: link-local is still rejected
            assert invalid(api, slice_body("b", addresses=["169.254.0.1"]))[0][0] == "endpoints[0].addresses[0]"
        finally:
            client.close()


def test_label_values_cannot_contain_a_slash(discovery_api: Api) -> None:
    body = slice_body()
    body["metadata"]["labels"]["kubernetes.io/service-name"] = "default/web"
    errs = invalid(discovery_api, body)
    assert errs[0][0] == "metadata.labels"
    assert errs[0][1].startswith('Invalid value: "default/web": a valid label must be an empty string')


def test_ports_validation(discovery_api: Api) -> None:
    body = slice_body()
    body["ports"] = [{"name": "a", "port": 80, "protocol": "TCP"}, {"name": "a", "port": 81, "protocol": "ICMP"}]
    assert invalid(discovery_api, body) == [
        ("ports[1].name", 'Duplicate value: "a"'),
        ("ports[1].protocol", 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"')]


def test_address_type_is_immutable(discovery_api: Api) -> None:
    raw(discovery_api.create_namespaced_endpoint_slice, "default", slice_body())
    with pytest.raises(k8s.ApiException) as e:
        discovery_api.patch_namespaced_endpoint_slice("web-1", "default",
                                                      {"addressType": "FQDN", "endpoints": [{"addresses": ["a.b"]}]})
    assert e.value.status == 422
    assert api_error(e.value)["details"]["causes"][0]["field"] == "addressType"


def test_endpoints_are_read_write(core: Api) -> None:
    body = {"metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    raw(core.create_namespaced_endpoints, "default", body)
    assert core.read_namespaced_endpoints("web", "default").subsets[0].addresses[0].ip == "10.0.0.1"


def test_endpoints_carry_the_deprecation_warning(api_client: k8s.ApiClient) -> None:
    m, url, headers, _, _ = api_client.param_serialize("GET", "/api/v1/namespaces/default/endpoints",
                                                       auth_settings=["BearerToken"])
    resp = api_client.call_api(m, url, header_params=headers)
    resp.read()
    assert resp.response.headers.getlist("Warning") == [
        '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"']


def test_fqdn_addresses_need_two_labels(discovery_api: Api) -> None:
    assert invalid(discovery_api, slice_body(address_type="FQDN", addresses=["backend"])) == [
        ("endpoints[0].addresses[0]",
         'Invalid value: "backend": should be a domain with at least two segments separated by dots')]
    assert invalid(discovery_api, slice_body(address_type="IPv4", addresses=["not-an-ip"])) == [
        ("endpoints[0].addresses[0]", 'Invalid value: "not-an-ip": must be a valid IPv4 address'),
        ("endpoints[0].addresses[0]", 'Invalid value: "not-an-ip": must be a valid IP address')]


def test_defaults_match_the_go_serialisation(discovery_api: Api) -> None:
    body = {"metadata": {"name": "d"}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}],
            "ports": [{"port": 80}]}
    out = raw(discovery_api.create_namespaced_endpoint_slice, "default", body)
    assert out["ports"] == [{"name": "", "protocol": "TCP", "port": 80}]
    assert out["endpoints"] == [{"addresses": ["10.0.0.1"], "conditions": {}}]
    empty = raw(discovery_api.create_namespaced_endpoint_slice, "default",
                {"metadata": {"name": "e"}, "addressType": "IPv4"})
    assert empty["endpoints"] is None and empty["ports"] is None
