"""limit/continue pagination over a consistent snapshot, and 410 when the token is too old."""

from __future__ import annotations

import json

import kubernetes.client as k8s
import pytest

from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import Api, raw, request, service_body


def test_pages_are_a_consistent_snapshot(core: Api) -> None:
    for i in range(7):
        raw(core.create_namespaced_service, "default", service_body(f"s{i}"))
    first = raw(core.list_namespaced_service, "default", limit=3)
    assert [i["metadata"]["name"] for i in first["items"]] == ["s0", "s1", "s2"]
    assert first["metadata"]["remainingItemCount"] == 4
    assert "kind" not in first["items"][0]  # typed lists carry kind/apiVersion once, at the top
    token = first["metadata"]["continue"]
    # changes after the first page are not seen by the rest of this list
    core.delete_namespaced_service("s4", "default")
    raw(core.create_namespaced_service, "default", service_body("s7"))
    raw(core.patch_namespaced_service, "s5", "default", {"metadata": {"labels": {"new": "1"}}})
    second = raw(core.list_namespaced_service, "default", limit=3, _continue=token)
    assert [i["metadata"]["name"] for i in second["items"]] == ["s3", "s4", "s5"]
    assert "labels" not in second["items"][2]["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    third = raw(core.list_namespaced_service, "default", limit=3, _continue=second["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in third["items"]] == ["s6"]
    assert "continue" not in third["metadata"]


def test_list_resource_version_is_the_global_revision(core: Api) -> None:
    svc = raw(core.create_namespaced_service, "default", service_body("web"))
    node = raw(core.create_node, {"metadata": {"name": "n1"}})
    listed = raw(core.list_namespaced_service, "default")
    assert int(listed["metadata"]["resourceVersion"]) >= int(node["metadata"]["resourceVersion"]) > \
        int(svc["metadata"]["resourceVersion"])


def test_expired_continue_token_is_410() -> None:
    with embedded_apiserver(watch_history=3) as server:
        client = server.api_client()
        core: Api = k8s.CoreV1Api(client)
        try:
            for i in range(4):
                raw(core.create_namespaced_service, "default", service_body(f"s{i}"))
            token = raw(core.list_namespaced_service, "default", limit=2)["metadata"]["continue"]
            for i in range(4):
                raw(core.patch_namespaced_service, f"s{i}", "default", {"metadata": {"labels": {"x": "y"}}})
            with pytest.raises(k8s.ApiException) as e:
                core.list_namespaced_service("default", limit=2, _continue=token)
            assert e.value.status == 410
            body = json.loads(e.value.body or "{}")
            assert body["reason"] == "Expired" and "continue parameter is too old" in body["message"]
            # the Status carries a fresh token that continues (inconsistently) from the same key
            rest = raw(core.list_namespaced_service, "default", limit=10, _continue=body["metadata"]["continue"])
            assert [i["metadata"]["name"] for i in rest["items"]] == ["s2", "s3"]
        finally:
            client.close()


def test_bad_continue_token_is_400(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.list_namespaced_service("default", limit=1, _continue="garbage!")
    assert e.value.status == 400


def test_list_at_an_exact_older_resource_version(core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("a"))
    before = raw(core.list_namespaced_service, "default")["metadata"]["resourceVersion"]
    raw(core.create_namespaced_service, "default", service_body("b"))
    raw(core.patch_namespaced_service, "a", "default", {"metadata": {"labels": {"x": "1"}}})
    old = raw(core.list_namespaced_service, "default", resource_version=before, resource_version_match="Exact")
    assert old["metadata"]["resourceVersion"] == before
    assert [(i["metadata"]["name"], i["metadata"].get("labels")) for i in old["items"]] == [("a", None)]
    # NotOlderThan (the default for a set resourceVersion) serves the current state
    now = raw(core.list_namespaced_service, "default", resource_version=before)
    assert [i["metadata"]["name"] for i in now["items"]] == ["a", "b"]


@pytest.mark.parametrize(("query", "message"), [
    ([("resourceVersionMatch", "Exact")],
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
    ([("resourceVersionMatch", "Exact"), ("resourceVersion", "0")],
     'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    ([("resourceVersionMatch", "Newest"), ("resourceVersion", "1")],
     'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'),
    ([("sendInitialEvents", "true")], "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
])
def test_list_options_are_validated_like_kube_apiserver(api_client: k8s.ApiClient, query: list[tuple[str, str]],
                                                        message: str) -> None:
    status, body = request(api_client, "GET", "/api/v1/namespaces/default/services", query=query)
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"] == f'ListOptions.meta.k8s.io "" is invalid: {message}'


def test_list_options_match_with_continue_is_invalid(core: Api, api_client: k8s.ApiClient) -> None:
    for name in ("a", "b"):
        raw(core.create_namespaced_service, "default", service_body(name))
    token = raw(core.list_namespaced_service, "default", limit=1)["metadata"]["continue"]
    status, body = request(api_client, "GET", "/api/v1/namespaces/default/services",
                           query=[("continue", token), ("resourceVersionMatch", "NotOlderThan")])
    assert status == 422
    assert "resourceVersionMatch is forbidden when continue is provided" in body["message"]


@pytest.mark.parametrize("match", ["Exact", "NotOlderThan"])
def test_list_at_a_future_resource_version_is_too_large(core: Api, api_client: k8s.ApiClient, match: str) -> None:
    current = int(raw(core.list_namespaced_service, "default")["metadata"]["resourceVersion"])
    status, body = request(api_client, "GET", "/api/v1/namespaces/default/services",
                           query=[("resourceVersion", str(current + 100)), ("resourceVersionMatch", match)])
    assert status == 504 and body["reason"] == "Timeout"
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
