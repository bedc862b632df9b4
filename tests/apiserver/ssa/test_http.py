"""Managed fields over HTTP: who each write is attributed to, subresources, resets."""

from __future__ import annotations

from typing import Any

import kubernetes.client as k8s

from tests.apiserver.conftest import raw, request, service_body

SVC = "/api/v1/namespaces/default/services/web"


def entries(obj: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["manager"], e["operation"], e.get("subresource", "")) for e in obj["metadata"].get("managedFields", [])}


def test_writes_are_attributed_to_their_manager_and_subresource(api_client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api_client)
    svc = raw(core.create_namespaced_service, "default", service_body("web", "LoadBalancer"), field_manager="maker")
    assert entries(svc) == {("maker", "Update", "")}
    status = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
    svc = raw(core.patch_namespaced_service_status, "web", "default", status, field_manager="ctrl")
    assert entries(svc) == {("maker", "Update", ""), ("ctrl", "Update", "status")}
    (ctrl,) = (e for e in svc["metadata"]["managedFields"] if e["manager"] == "ctrl")
    assert ctrl["fieldsV1"] == {"f:status": {"f:loadBalancer": {"f:ingress": {}}}}
    # without fieldManager the User-Agent names the manager; a write that changes nothing records nothing
    same = raw(core.patch_namespaced_service, "web", "default", {"spec": {"type": "LoadBalancer"}})
    assert entries(same) == entries(svc) and same["metadata"]["resourceVersion"] == svc["metadata"]["resourceVersion"]
    svc = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"x": "1"}}})
    assert ("OpenAPI-Generator", "Update", "") in entries(svc)
    # the status subresource cannot be applied to through the main resource: spec is not owned via /status
    code, body = request(api_client, "PATCH", SVC + "/status?fieldManager=ctrl2", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}}}, content_type="application/apply-patch+yaml")
    assert code == 409 and body["details"]["causes"][0]["message"] == \
        'conflict with "ctrl" with subresource "status" using v1'
    # managedFields: [] resets them; the write's own change is then all that is recorded
    code, svc = request(api_client, "PATCH", SVC, {"metadata": {"managedFields": [], "labels": {"y": "2"}}},
                        content_type="application/merge-patch+json")
    assert code == 200 and len(svc["metadata"]["managedFields"]) == 1
    assert svc["metadata"]["managedFields"][0]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:y": {}}}}
