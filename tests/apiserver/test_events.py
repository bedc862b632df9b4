"""Events: core/v1 and events.k8s.io/v1 over one storage, each with kube-apiserver's validation."""

from __future__ import annotations

from typing import Any

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, api_error, raw, request

EVENTS_V1 = "/apis/events.k8s.io/v1/namespaces/default/events"

CORE_EVENT: dict[str, Any] = {
    "metadata": {"generateName": "web."},
    "involvedObject": {"kind": "Service", "namespace": "default", "name": "web", "uid": "u-1", "apiVersion": "v1"},
    "reason": "EnsuringLoadBalancer", "message": "Ensuring load balancer", "type": "Normal", "count": 1,
    "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
    "source": {"component": "service-controller"},
}
V1_EVENT = {
    "metadata": {"name": "web.1"},
    "regarding": {"kind": "Service", "namespace": "default", "name": "web", "uid": "u-1"},
    "reason": "EnsuredLoadBalancer", "note": "Ensured load balancer", "type": "Normal", "action": "Ensure",
    "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "ccm.example.com/service",
    "reportingInstance": "ccm-1",
}


def test_core_event_generate_name_may_end_with_a_dot(core: Api) -> None:
    out = raw(core.create_namespaced_event, "default", CORE_EVENT)
    assert out["metadata"]["name"].startswith("web.") and out["count"] == 1
    assert out["firstTimestamp"] == "2026-01-01T00:00:00Z"
    bumped = raw(core.patch_namespaced_event, out["metadata"]["name"], "default",
                 {"count": 2, "lastTimestamp": "2026-01-01T00:00:05Z"})
    assert bumped["count"] == 2


def test_events_k8s_io_rejects_generate_name_ending_with_a_dot(api_client: k8s.ApiClient) -> None:
    api: Api = k8s.EventsV1Api(api_client)
    body = dict(V1_EVENT, metadata={"generateName": "web."})
    with pytest.raises(k8s.ApiException) as e:
        api.create_namespaced_event("default", body)
    assert e.value.status == 422
    assert api_error(e.value)["details"]["causes"][0]["field"] == "metadata.generateName"
    ok = raw(api.create_namespaced_event, "default", dict(V1_EVENT, metadata={"generateName": "web-"}))
    assert ok["metadata"]["name"].startswith("web-")


def test_events_k8s_io_strict_fields(api_client: k8s.ApiClient) -> None:
    # the client model refuses these bodies itself, so they go over the REST layer as JSON
    def fields(body: dict) -> set[str]:
        status, out = request(api_client, "POST", EVENTS_V1, body)
        assert status == 422, out
        return {c["field"] for c in out["details"]["causes"]}

    assert fields({k: v for k, v in V1_EVENT.items() if k != "eventTime"}) == {"eventTime"}
    assert "reportingController" in fields(dict(V1_EVENT, reportingController=""))
    assert fields(dict(V1_EVENT, series={"count": 1, "lastObservedTime": "2026-01-01T00:00:00Z"})) == {"series.count"}
    assert fields(dict(V1_EVENT, type="Info")) == {"type"}


def test_one_storage_two_views(core: Api, api_client: k8s.ApiClient) -> None:
    api: Api = k8s.EventsV1Api(api_client)
    raw(api.create_namespaced_event, "default", V1_EVENT)
    as_core = raw(core.read_namespaced_event, "web.1", "default")
    assert as_core["apiVersion"] == "v1" and as_core["message"] == "Ensured load balancer"
    assert as_core["involvedObject"]["name"] == "web" and as_core["reportingComponent"] == "ccm.example.com/service"
    raw(core.create_namespaced_event, "default", dict(CORE_EVENT, metadata={"name": "legacy"}))
    as_v1 = request(api_client, "GET", EVENTS_V1 + "/legacy")[1]
    assert as_v1["apiVersion"] == "events.k8s.io/v1" and as_v1["note"] == "Ensuring load balancer"
    assert as_v1["regarding"]["kind"] == "Service" and as_v1["deprecatedCount"] == 1
    assert as_v1["deprecatedSource"] == {"component": "service-controller"}


def test_event_field_selectors(core: Api, api_client: k8s.ApiClient) -> None:
    raw(core.create_namespaced_event, "default", dict(CORE_EVENT, metadata={"name": "a"}))
    raw(core.create_namespaced_event, "default", dict(CORE_EVENT, metadata={"name": "b"}, type="Warning",
                                                      reason="SyncLoadBalancerFailed",
                                                      involvedObject=dict(CORE_EVENT["involvedObject"], name="db",
                                                                          uid="u-2")))
    def names(**kw: str) -> list[str]:
        return [e.metadata.name for e in core.list_namespaced_event("default", **kw).items]

    assert names(field_selector="involvedObject.name=web,involvedObject.kind=Service") == ["a"]
    assert names(field_selector="involvedObject.uid=u-2") == ["b"]
    assert names(field_selector="type=Warning") == ["b"]
    assert names(field_selector="reason=EnsuringLoadBalancer,source=service-controller") == ["a"]
    assert names(field_selector="involvedObject.namespace=default") == ["a", "b"]
    # legacy events have no eventTime, which the client's model rejects: read the JSON
    v1 = raw(k8s.EventsV1Api(api_client).list_namespaced_event, "default", field_selector="regarding.name=db")
    assert [e["metadata"]["name"] for e in v1["items"]] == ["b"]


def test_core_event_namespace_must_match_involved_object(core: Api) -> None:
    body = dict(CORE_EVENT, metadata={"name": "x"}, involvedObject=dict(CORE_EVENT["involvedObject"], namespace="other"))
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_event("default", body)
    assert e.value.status == 422
    assert api_error(e.value)["details"]["causes"][0] == {
        "reason": "FieldValueInvalid", "message": 'Invalid value: "other": does not match event.namespace',
        "field": "involvedObject.namespace"}
