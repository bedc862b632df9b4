"""RawClient: JSON over the official client's REST layer, against the embedded API server."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ccm.kube.client import ApiError, RawClient, load_api_client
from ccm.kube.resources import SERVICES
from tests.util import wait_for


def service(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}


def test_api_error_from_status_body():
    err = ApiError.from_response(
        404, "Not Found",
        b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services \\"x\\" not found",'
        b'"reason":"NotFound","code":404}')
    assert (err.status, err.reason, err.message) == (404, "NotFound", 'services "x" not found')
    assert err.is_not_found and not err.is_conflict and not err.is_gone
    assert err.body is not None and err.body["code"] == 404
    gone = ApiError.from_response(410, "Gone", b"not json")
    assert gone.is_gone and gone.reason == "Gone" and gone.message == "not json" and gone.body is None
    assert ApiError(409, "AlreadyExists").is_already_exists
    assert "409 Conflict: changed" in str(ApiError(409, "Conflict", "changed"))


@pytest.fixture
def client(api_client) -> RawClient:
    return RawClient(api_client, timeout=10.0)


def test_crud_round_trip(client: RawClient):
    path = SERVICES.collection_path("default")
    created = client.create(path, service("web", app="shop"))
    assert created["metadata"]["uid"] and created["spec"]["clusterIP"]
    item = SERVICES.item_path("default", "web")
    assert client.get(item)["metadata"]["uid"] == created["metadata"]["uid"]

    listed = client.list(path, {"labelSelector": "app=shop"})
    assert [i["metadata"]["name"] for i in listed["items"]] == ["web"]
    assert client.list(path, {"labelSelector": "app=other"})["items"] == []

    merged = client.patch(item, {"metadata": {"annotations": {"a": "1"}}}, "merge")
    assert merged["metadata"]["annotations"] == {"a": "1"}
    jsoned = client.patch(item, [{"op": "add", "path": "/metadata/annotations/b", "value": "2"}], "json")
    assert jsoned["metadata"]["annotations"] == {"a": "1", "b": "2"}
    strategic = client.patch(item, {"metadata": {"labels": {"tier": "web"}}}, "strategic")
    assert strategic["metadata"]["labels"] == {"app": "shop", "tier": "web"}

    current = client.get(item)
    current["metadata"]["labels"]["tier"] = "db"
    updated = client.update(item, current)
    assert updated["metadata"]["labels"]["tier"] == "db"

    client.delete(item)
    with pytest.raises(ApiError) as err:
        client.get(item)
    assert err.value.is_not_found and err.value.reason == "NotFound"


def test_errors_carry_status_reason_and_message(client: RawClient):
    path = SERVICES.collection_path("default")
    first = client.create(path, service("dup"))
    with pytest.raises(ApiError) as exists:
        client.create(path, service("dup"))
    assert exists.value.is_already_exists and "already exists" in exists.value.message
    stale = dict(first, metadata={**first["metadata"], "labels": {"x": "y"}})
    client.patch(SERVICES.item_path("default", "dup"), {"metadata": {"labels": {"v": "2"}}}, "merge")
    with pytest.raises(ApiError) as conflict:
        client.update(SERVICES.item_path("default", "dup"), stale)
    assert conflict.value.is_conflict and conflict.value.reason == "Conflict"
    with pytest.raises(ApiError) as invalid:
        client.create(path, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "Bad_Name"},
                             "spec": {"ports": [{"port": 80}]}})
    assert invalid.value.status == 422 and invalid.value.body is not None


def test_unreachable_server_is_an_api_error_with_status_0():
    import kubernetes.client

    config = kubernetes.client.Configuration()
    config.host = "http://127.0.0.1:9"  # discard port: nothing listens
    config.retries = False
    with kubernetes.client.ApiClient(config) as api, pytest.raises(ApiError) as err:
        RawClient(api, timeout=2.0).get("/api/v1/nodes")
    assert err.value.status == 0


def test_watch_streams_events_and_closes_promptly_from_another_thread(client: RawClient):
    path = SERVICES.collection_path("default")
    start_rv = client.list(path)["metadata"]["resourceVersion"]
    client.create(path, service("a"))
    stream = client.watch(path, {"resourceVersion": start_rv}, timeout_seconds=30)
    events: list[dict[str, Any]] = []

    def read() -> None:
        for event in stream:
            events.append(event)

    reader = threading.Thread(target=read)
    reader.start()
    client.create(path, service("b"))
    client.delete(SERVICES.item_path("default", "a"))
    wait_for(lambda: len(events) == 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    assert events[0]["object"]["kind"] == "Service"
    began = time.monotonic()
    stream.close()
    reader.join(5)
    assert not reader.is_alive() and time.monotonic() - began < 2


def test_watch_from_expired_version_is_gone():
    from ccm.apiserver.testing import embedded_apiserver

    with embedded_apiserver(watch_history=3) as server, server.api_client() as api:
        client = RawClient(api, timeout=10.0)
        path = SERVICES.collection_path("default")
        first = client.create(path, service("s0"))["metadata"]["resourceVersion"]
        for i in range(1, 6):
            client.create(path, service(f"s{i}"))
        events = list(client.watch(path, {"resourceVersion": first}, timeout_seconds=5))
    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"


def test_kubeconfig_with_bearer_token(tmp_path):
    from ccm.apiserver.testing import embedded_apiserver

    with embedded_apiserver(token="s3cret") as server:
        path = server.write_kubeconfig(tmp_path / "kubeconfig")
        with load_api_client(path) as api:
            nodes = RawClient(api).list("/api/v1/nodes")
        assert nodes["items"] == []
        with pytest.raises(ApiError) as err, server.api_client() as anonymous:
            anonymous.configuration.api_key = {}
            RawClient(anonymous).list("/api/v1/nodes")
        assert err.value.status == 401


def test_in_cluster_config_needs_the_service_account(monkeypatch):
    import kubernetes.config

    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(kubernetes.config.ConfigException):
        load_api_client(None)


class ScriptedResponse:
    """Stands in for urllib3's response under WatchStream: chunks as a server might split them."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.closed = False

    def read1(self, amt: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def shutdown(self) -> None:
        self.chunks = []

    def close(self) -> None:
        self.closed = True


def test_watch_stream_reassembles_lines_across_and_within_chunks():
    from ccm.kube.client import WatchStream

    lines = [b'{"type":"ADDED","object":{"n":%d}}' % i for i in range(5)]
    chunks = [lines[0][:10], lines[0][10:] + b"\n" + lines[1] + b"\n" + lines[2] + b"\n\n",
              lines[3] + b"\n", lines[4]]  # the last line has no newline before EOF
    response = ScriptedResponse(chunks)
    events = list(WatchStream(response))  # type: ignore[arg-type]
    assert [e["object"]["n"] for e in events] == [0, 1, 2, 3, 4]
    assert response.closed


def test_watch_stream_garbage_is_a_dropped_watch():
    from ccm.kube.client import WatchStream

    stream = WatchStream(ScriptedResponse([b'{"type":"ADDED","object":{}}\n{"type":\n']))  # type: ignore[arg-type]
    with pytest.raises(ApiError) as err:
        list(stream)
    assert err.value.status == 0 and err.value.reason == "WatchDropped"
