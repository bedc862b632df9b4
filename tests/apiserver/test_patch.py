"""PATCH: merge patch, JSON patch and strategic merge patch with the directives clients send."""

from __future__ import annotations

from typing import Any

import kubernetes.client as k8s
import pytest

from ccm.apiserver.patch import strategic_merge_patch
from tests.apiserver.conftest import Api, raw, request

SVC = "/api/v1/namespaces/default/services/web"
SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONP = "application/json-patch+json"


def patch(api_client: k8s.ApiClient, body: object, content_type: str, path: str = SVC) -> tuple[int, dict]:
    return request(api_client, "PATCH", path, body, content_type=content_type)


def test_official_client_patch_is_strategic_by_default(core: Api, make_service) -> None:
    make_service("web", ports=[{"name": "http", "port": 80}])
    out = raw(core.patch_namespaced_service, "web", "default",
              {"spec": {"ports": [{"port": 443, "name": "https"}]}})
    # Service ports merge by their patchMergeKey, "port": the new port is added, not substituted
    assert [(p["name"], p["port"]) for p in out["spec"]["ports"]] == [("http", 80), ("https", 443)]


def test_merge_patch_replaces_lists_and_deletes_with_null(api_client: k8s.ApiClient, make_service) -> None:
    make_service("web", ports=[{"name": "http", "port": 80}])
    status, out = patch(api_client, {"metadata": {"labels": {"a": "1"}},
                                     "spec": {"ports": [{"name": "https", "port": 443}]}}, MERGE)
    assert status == 200
    assert [p["port"] for p in out["spec"]["ports"]] == [443]
    status, out = patch(api_client, {"metadata": {"labels": {"a": None}}}, MERGE)
    assert "a" not in (out["metadata"].get("labels") or {})


def test_json_patch_ops_and_failed_test(api_client: k8s.ApiClient, make_service) -> None:
    make_service("web")
    status, out = patch(api_client, [{"op": "add", "path": "/metadata/labels", "value": {"x/y": "z"}},
                                     {"op": "replace", "path": "/spec/ports/0/port", "value": 8080}], JSONP)
    assert status == 200
    assert out["metadata"]["labels"] == {"x/y": "z"} and out["spec"]["ports"][0]["port"] == 8080
    status, out = patch(api_client, [{"op": "remove", "path": "/metadata/labels/x~1y"}], JSONP)
    assert status == 200 and not out["metadata"].get("labels")
    status, out = patch(api_client, [{"op": "test", "path": "/spec/type", "value": "NodePort"},
                                     {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}], JSONP)
    assert status == 422 and out["kind"] == "Status"
    # kube-apiserver's answer to a patch that does not apply: one generic message, no causes
    assert (out["reason"], out["message"], out["details"]) == (
        "Invalid", "the server rejected our request due to an error in our request", {})


def test_json_patch_that_does_not_decode_is_400_one_that_does_not_apply_422(api_client: k8s.ApiClient,
                                                                            make_service) -> None:
    make_service("web")
    assert patch(api_client, ["add"], JSONP)[0] == 400  # (the client turns a dict body into a strategic patch)
    for ops in ([{"op": "frobnicate", "path": "/metadata/labels"}], [{"path": "/metadata/labels"}],
                [{"op": "remove", "path": "/metadata/nothing"}]):
        status, out = patch(api_client, ops, JSONP)
        assert (status, out["reason"]) == (422, "Invalid"), ops


def test_json_patch_test_compares_json_types(api_client: k8s.ApiClient, make_service) -> None:
    """JSON true is not 1 and "80" is not 80, though Python's == says otherwise for the first."""
    make_service("web", "LoadBalancer")
    for value in (1, "80", 80.5):
        path = "/spec/allocateLoadBalancerNodePorts" if value == 1 else "/spec/ports/0/port"
        status, _ = patch(api_client, [{"op": "test", "path": path, "value": value}], JSONP)
        assert status == 422, value
    status, _ = patch(api_client, [{"op": "test", "path": "/spec/allocateLoadBalancerNodePorts", "value": True},
                                   {"op": "test", "path": "/spec/ports/0/port", "value": 80.0}], JSONP)
    assert status == 200


def test_finalizer_added_then_removed_through_status_with_upstream_bytes(api_client: k8s.ApiClient,
                                                                          make_service) -> None:
    make_service("web")
    foo, bar = "example.com/foo", "example.com/bar"
    status, out = patch(api_client, {"metadata": {"finalizers": [foo]}}, MERGE)
    assert out["metadata"]["finalizers"] == [foo]
    # the shape k8s.io/cloud-provider's servicehelper sends to add and then remove a finalizer
    status, out = patch(api_client, {"metadata": {"$setElementOrder/finalizers": [foo, bar],
                                                  "finalizers": [bar]}}, SMP, SVC + "/status")
    assert status == 200, out
    assert out["metadata"]["finalizers"] == [foo, bar]
    status, out = patch(api_client, {"metadata": {"$deleteFromPrimitiveList/finalizers": [bar]}}, SMP,
                        SVC + "/status")
    assert status == 200
    assert out["metadata"]["finalizers"] == [foo]


def test_upstream_test_bytes_with_unqualified_names_are_rejected_like_kube_apiserver(
        api_client: k8s.ApiClient, make_service) -> None:
    """Built-in kinds only take standard ("kubernetes", "orphan", "foregroundDeletion") or qualified names."""
    make_service("web")
    status, out = patch(api_client, {"metadata": {"$setElementOrder/finalizers": ["foo", "bar"],
                                                  "finalizers": ["bar"]}}, SMP, SVC + "/status")
    assert status == 422
    assert out["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "metadata.finalizers[0]",
        "message": 'Invalid value: "bar": name is neither a standard finalizer name nor is it fully qualified'}]


def test_ingress_is_atomic_and_conditions_merge_by_type(api_client: k8s.ApiClient, make_service) -> None:
    make_service("web", "LoadBalancer")
    patch(api_client, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"ip": "192.0.2.2"}]},
                                  "conditions": [{"type": "A", "status": "True", "reason": "R",
                                                  "lastTransitionTime": "2026-01-01T00:00:00Z", "message": ""}]}},
          SMP, SVC + "/status")
    status, out = patch(api_client, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.3"}]},
                                                 "conditions": [{"type": "B", "status": "False", "reason": "R",
                                                                 "lastTransitionTime": "2026-01-01T00:00:00Z",
                                                                 "message": ""}]}}, SMP, SVC + "/status")
    assert status == 200, out
    assert out["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.3", "ipMode": "VIP"}]
    assert [c["type"] for c in out["status"]["conditions"]] == ["A", "B"]


def test_patch_directive_delete_and_replace() -> None:
    schema = {"spec.ports": ("merge", "port")}
    original: dict[str, Any] = {"spec": {"ports": [{"port": 80, "name": "a"}, {"port": 443, "name": "b"}], "selector": {"x": "1"}}}
    out = strategic_merge_patch(original, {"spec": {"ports": [{"port": 80, "$patch": "delete"}]}}, schema)
    assert out["spec"]["ports"] == [{"port": 443, "name": "b"}]
    out = strategic_merge_patch(original, {"spec": {"selector": {"$patch": "replace", "y": "2"}}}, schema)
    assert out["spec"]["selector"] == {"y": "2"}
    out = strategic_merge_patch(original, {"spec": {"ports": [{"$patch": "replace"}, {"port": 8080}]}}, schema)
    assert out["spec"]["ports"] == [{"port": 8080}]
    out = strategic_merge_patch(original, {"spec": {"$setElementOrder/ports": [{"port": 443}, {"port": 80}],
                                                    "ports": [{"port": 80, "name": "c"}]}}, schema)
    assert out["spec"]["ports"] == [{"port": 443, "name": "b"}, {"port": 80, "name": "c"}]
    assert original["spec"]["ports"][0]["name"] == "a"  # the input is never mutated


def test_endpointslice_endpoints_are_atomic(discovery_api: Api, api_client: k8s.ApiClient) -> None:
    raw(discovery_api.create_namespaced_endpoint_slice, "default",
        {"metadata": {"name": "web-1"}, "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]})
    status, out = patch(api_client, {"endpoints": [{"addresses": ["10.0.0.3"]}]}, SMP,
                        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-1")
    assert status == 200
    assert out["endpoints"] == [{"addresses": ["10.0.0.3"], "conditions": {}}]
    assert out["metadata"]["generation"] == 2


def test_patch_with_stale_resource_version_conflicts(api_client: k8s.ApiClient, make_service) -> None:
    svc = make_service("web")
    patch(api_client, {"metadata": {"labels": {"a": "1"}}}, MERGE)
    status, out = patch(api_client, {"metadata": {"resourceVersion": svc["metadata"]["resourceVersion"],
                                                  "labels": {"a": "2"}}}, MERGE)
    assert status == 409 and out["reason"] == "Conflict"


def test_patch_of_missing_object_is_404_and_bad_content_type_415(api_client: k8s.ApiClient, make_service) -> None:
    status, out = patch(api_client, {"metadata": {"labels": {"a": "1"}}}, MERGE)
    assert status == 404
    make_service("web")
    status, out = patch(api_client, "{\"metadata\": {}}", "text/plain")
    assert status == 415 and out["reason"] == "UnsupportedMediaType"


@pytest.mark.parametrize("content_type", [MERGE, SMP])
def test_patch_result_is_validated(api_client: k8s.ApiClient, make_service, content_type: str) -> None:
    make_service("web")
    status, out = patch(api_client, {"spec": {"type": "Bogus"}}, content_type)
    assert status == 422
    assert out["details"]["causes"][0]["field"] == "spec.type"
