"""EventRecorder: Event shape, aggregation into count, non-blocking, and the real API server."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest

from ccm.kube.client import ApiError
from ccm.kube.clock import FakeClock
from ccm.kube.events import EventRecorder, FakeRecorder

SVC = {"apiVersion": "v1", "kind": "Service",
       "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "uid": "u-2"}}


class Writer:
    """Records create/patch calls; can be told to fail or to block."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.fail_patch: ApiError | None = None
        self.gate = threading.Event()
        self.gate.set()

    def create(self, path: str, body: Any, params: Any = None) -> dict[str, Any]:
        self.gate.wait()
        self.calls.append(("create", path, body))
        return body

    def patch(self, path: str, body: Any, patch_type: Any) -> dict[str, Any]:
        self.calls.append(("patch", path, body))
        if self.fail_patch:
            raise self.fail_patch
        return body


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(wall_start=datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC))


def test_event_shape(clock, caplog):
    writer = Writer()
    rec = EventRecorder(writer, "service-controller", host="host-a", clock=clock)
    caplog.set_level("INFO")
    rec.event(SVC, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer")
    assert rec.flush(5)
    rec.stop()
    assert "shop/web: event Normal EnsuringLoadBalancer: Ensuring load balancer" in caplog.text
    [(verb, path, body)] = writer.calls
    assert (verb, path) == ("create", "/api/v1/namespaces/shop/events")
    assert body["metadata"]["name"] == f"web.{int(clock.wall().timestamp() * 1e9):x}"
    assert body["involvedObject"] == {"apiVersion": "v1", "kind": "Service", "namespace": "shop",
                                      "name": "web", "uid": "u-1", "resourceVersion": "7"}
    assert body["source"] == {"component": "service-controller", "host": "host-a"}
    assert (body["type"], body["reason"], body["count"]) == ("Normal", "EnsuringLoadBalancer", 1)
    assert body["firstTimestamp"] == body["lastTimestamp"] == "2026-03-04T05:06:07Z"
    assert (body["reportingComponent"], body["reportingInstance"]) == ("service-controller", "host-a")


def test_distinct_events_in_one_instant_get_distinct_names(clock):
    writer = Writer()
    rec = EventRecorder(writer, "c", host="h", clock=clock)
    rec.event(SVC, "Warning", "InvalidAnnotation", "first is invalid")
    rec.event(SVC, "Warning", "InvalidAnnotation", "second is invalid")  # same fake instant
    rec.stop()
    names = [body["metadata"]["name"] for verb, _, body in writer.calls if verb == "create"]
    assert len(names) == 2 and len(set(names)) == 2


def test_cluster_scoped_object_events_go_to_default(clock):
    writer = Writer()
    rec = EventRecorder(writer, "c", host="h", clock=clock)
    rec.event(NODE, "Warning", "R", "m")
    rec.stop()
    assert writer.calls[0][1] == "/api/v1/namespaces/default/events"
    assert "namespace" not in writer.calls[0][2]["involvedObject"]


def test_repeats_are_aggregated_into_count(clock):
    writer = Writer()
    rec = EventRecorder(writer, "c", host="h", clock=clock)
    rec.event(SVC, "Warning", "SyncLoadBalancerFailed", "boom")
    rec.flush(5)
    clock.step(30)
    rec.event(SVC, "Warning", "SyncLoadBalancerFailed", "boom")
    rec.event(SVC, "Warning", "SyncLoadBalancerFailed", "boom")
    rec.event(SVC, "Warning", "SyncLoadBalancerFailed", "other message")
    rec.stop()
    verbs = [(c[0], c[2].get("count")) for c in writer.calls]
    assert verbs == [("create", 1), ("patch", 2), ("patch", 3), ("create", 1)]
    name = writer.calls[0][2]["metadata"]["name"]
    assert writer.calls[1][1] == f"/api/v1/namespaces/shop/events/{name}"
    assert writer.calls[1][2]["lastTimestamp"] == "2026-03-04T05:06:37Z"


def test_expired_event_is_recreated(clock):
    writer = Writer()
    rec = EventRecorder(writer, "c", host="h", clock=clock)
    rec.event(SVC, "Normal", "R", "m")
    rec.flush(5)
    writer.fail_patch = ApiError(404, "NotFound")
    rec.event(SVC, "Normal", "R", "m")
    rec.stop()
    assert [c[0] for c in writer.calls] == ["create", "patch", "create"]


def test_event_never_blocks_and_drops_when_full(clock):
    writer = Writer()
    writer.gate.clear()  # the API hangs
    rec = EventRecorder(writer, "c", host="h", queue_size=2, clock=clock)
    for i in range(10):
        rec.event(SVC, "Normal", "R", f"m{i}")  # returns at once though nothing is written
    assert rec.flush(0.05) is False
    writer.gate.set()
    assert rec.flush(5)
    rec.stop()
    assert 1 <= rec.dropped <= 8
    assert len(writer.calls) == 10 - rec.dropped


def test_objects_without_kind_are_logged_not_written(clock, caplog):
    writer = Writer()
    rec = EventRecorder(writer, "c", host="h", clock=clock)
    rec.event({"metadata": {"name": "x", "namespace": "n"}}, "Normal", "R", "m")
    rec.stop()
    assert writer.calls == []
    assert "n/x: event R not written" in caplog.text


def test_fake_recorder_formats_like_client_go():
    rec = FakeRecorder()
    rec.event(SVC, "Warning", "SyncLoadBalancerFailed", "Error syncing load balancer: x")
    assert rec.events == ["Warning SyncLoadBalancerFailed Error syncing load balancer: x"]
    assert rec.objects == [("shop/web", "Warning SyncLoadBalancerFailed Error syncing load balancer: x")]
    assert rec.clear() == ["Warning SyncLoadBalancerFailed Error syncing load balancer: x"]
    assert rec.events == []


def test_events_on_the_real_api_server_aggregate_into_count(api_client):
    from ccm.kube.client import RawClient
    from ccm.kube.resources import SERVICES

    client = RawClient(api_client, timeout=10.0)
    svc = client.create(SERVICES.collection_path("default"),
                        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                         "spec": {"ports": [{"port": 80}]}})
    node = client.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    rec = EventRecorder(client, "service-controller", host="host-a")
    for _ in range(3):
        rec.event(svc, "Warning", "SyncLoadBalancerFailed", "Error syncing load balancer: boom")
    rec.event(svc, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer")
    rec.event(node, "Normal", "Seen", "node seen")
    assert rec.flush(10)
    rec.stop()
    events = client.list("/api/v1/namespaces/default/events")["items"]
    by_reason = {e["reason"]: e for e in events}
    assert len(events) == 3
    failed = by_reason["SyncLoadBalancerFailed"]
    assert failed["count"] == 3 and failed["type"] == "Warning"
    assert failed["message"] == "Error syncing load balancer: boom"
    assert failed["involvedObject"]["uid"] == svc["metadata"]["uid"]
    assert failed["involvedObject"]["kind"] == "Service"
    assert failed["source"] == {"component": "service-controller", "host": "host-a"}
    assert by_reason["EnsuringLoadBalancer"]["count"] == 1
    seen = by_reason["Seen"]
    assert seen["involvedObject"]["name"] == "n1" and "namespace" not in seen["involvedObject"]
