"""Watch: resume from a resourceVersion, event types, bookmarks, timeouts, 410 Expired, reconnects."""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import kubernetes.client as k8s
import pytest
from kubernetes import watch

from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import Api, raw, request, service_body
from tests.util import wait_for


@contextlib.contextmanager
def own_server(**options: Any) -> Iterator[Api]:
    """A server with non-default options, and a CoreV1Api on it."""
    with embedded_apiserver(**options) as server:
        client = server.api_client()
        try:
            yield k8s.CoreV1Api(client)
        finally:
            client.close()


class Collector:
    """Runs an official-client watch in a thread and records (type, name, rv) per event."""

    def __init__(self, func: Any, *args: Any, **kwargs: Any) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.raw: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(func, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, func: Any, args: Any, kwargs: Any) -> None:
        try:
            for ev in self._watch.stream(func, *args, **kwargs):
                obj = ev["raw_object"]
                self.raw.append(ev)
                self.events.append((ev["type"], obj["metadata"].get("name", ""),
                                    obj["metadata"].get("resourceVersion", "")))
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def types(self, name: str | None = None) -> list[str]:
        return [t for t, n, _ in self.events if t != "BOOKMARK" and (name is None or n == name)]

    def stop(self) -> None:
        self._watch.stop()
        self.done.wait(5)


def test_watch_from_resource_version_replays_then_streams(core: Api) -> None:
    start = raw(core.list_namespaced_service, "default")["metadata"]["resourceVersion"]
    raw(core.create_namespaced_service, "default", service_body("web"))
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"a": "1"}}})
    c = Collector(core.list_namespaced_service, "default", resource_version=start, timeout_seconds=10)
    wait_for(lambda: c.types() == ["ADDED", "MODIFIED"], timeout=5, message=lambda: str(c.events))
    core.delete_namespaced_service("web", "default")
    wait_for(lambda: c.types() == ["ADDED", "MODIFIED", "DELETED"], timeout=5, message=lambda: str(c.events))
    rvs = [int(rv) for _, _, rv in c.events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    c.stop()


def test_watch_without_resource_version_sends_synthetic_added(core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("a"))
    raw(core.create_namespaced_service, "default", service_body("b"))
    c = Collector(core.list_namespaced_service, "default", timeout_seconds=10)
    wait_for(lambda: [(t, n) for t, n, _ in c.events] == [("ADDED", "a"), ("ADDED", "b")], timeout=5)
    c.stop()


def test_watch_timeout_seconds_ends_the_stream(core: Api) -> None:
    t0 = time.monotonic()
    c = Collector(core.list_namespaced_service, "default", timeout_seconds=1)
    assert c.done.wait(5)
    assert 0.9 <= time.monotonic() - t0 < 4
    assert c.error is None


def test_selector_moves_become_added_and_deleted(apiserver, core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("web"))
    c = Collector(core.list_namespaced_service, "default", label_selector="team=a", timeout_seconds=10)
    wait_for(lambda: len(apiserver.server.store.watchers()) == 1, timeout=5)
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"team": "a"}}})
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"team": "a", "x": "1"}}})
    moved = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"team": "b"}}})
    wait_for(lambda: c.types() == ["ADDED", "MODIFIED", "DELETED"], timeout=5, message=lambda: str(c.events))
    # as kube-apiserver's watch cache: the last version that matched, stamped with the new revision
    gone = c.raw[-1]["raw_object"]["metadata"]
    assert gone["labels"] == {"team": "a", "x": "1"} and gone["resourceVersion"] == moved["metadata"]["resourceVersion"]
    c.stop()


def test_bookmarks_after_initial_events_and_periodically() -> None:
    with own_server(bookmark_interval=0.2) as core:
        raw(core.create_namespaced_service, "default", service_body("web"))
        c = Collector(core.list_namespaced_service, "default", allow_watch_bookmarks=True, timeout_seconds=10,
                      send_initial_events=True, resource_version_match="NotOlderThan")
        wait_for(lambda: sum(1 for t, _, _ in c.events if t == "BOOKMARK") >= 3, timeout=5)
        assert c.events[0][0] == "ADDED" and c.events[1][0] == "BOOKMARK"
        first = c.raw[1]["raw_object"]
        assert first["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        # only the first bookmark marks the end of the initial events; the others carry just the revision
        assert all(set(e["raw_object"]["metadata"]) == {"resourceVersion"} for e in c.raw[2:])
        assert first["kind"] == "Service" and first["apiVersion"] == "v1"
        node = raw(core.create_node, {"metadata": {"name": "n1"}})
        # bookmarks carry the current global revision, so a reconnect skips unrelated writes
        wait_for(lambda: int(c.events[-1][2]) >= int(node["metadata"]["resourceVersion"]), timeout=5)
        c.stop()


def test_expired_resource_version_gets_410_error_event_and_relist_recovers() -> None:
    with own_server(watch_history=3) as core:
        raw(core.create_namespaced_service, "default", service_body("web"))
        old_rv = raw(core.list_namespaced_service, "default")["metadata"]["resourceVersion"]
        for i in range(4):
            raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"n": str(i)}}})
        # on the wire: HTTP 200 and one ERROR event carrying a 410 Expired Status
        status, text = request(core.api_client, "GET", "/api/v1/namespaces/default/services",
                               query=[("watch", "true"), ("resourceVersion", old_rv)])
        assert status == 200
        event = text if isinstance(text, dict) else json.loads(text.splitlines()[0])
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
        assert event["object"]["message"].startswith(f"too old resource version: {old_rv} (")
        # the official client surfaces it as ApiException(410)
        with pytest.raises(k8s.ApiException) as e:
            for _ in watch.Watch().stream(core.list_namespaced_service, "default", resource_version=old_rv,
                                          timeout_seconds=2):
                pass
        assert e.value.status == 410
        # relist, then watch from the list's resourceVersion: works, and sees new changes
        listed = raw(core.list_namespaced_service, "default")
        assert listed["items"][0]["metadata"]["labels"] == {"n": "3"}
        c = Collector(core.list_namespaced_service, "default",
                      resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=10)
        raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"n": "4"}}})
        wait_for(lambda: c.types() == ["MODIFIED"], timeout=5, message=lambda: str(c.events))
        c.stop()


def test_drop_watches_closes_streams(apiserver, core: Api) -> None:
    c = Collector(core.list_namespaced_service, "default", timeout_seconds=30, _request_timeout=30)
    wait_for(apiserver.server.store.watchers, timeout=5)
    raw(core.create_namespaced_service, "default", service_body("web"))
    wait_for(lambda: c.types() == ["ADDED"], timeout=5)
    apiserver.drop_watches()
    # the official client's stream ends when the server closes it (timeout_seconds disables its retries)
    assert c.done.wait(5)
    assert c.error is None
    wait_for(lambda: not apiserver.server.store.watchers(), timeout=5)


def test_watch_stream_is_chunked_ndjson(api_client: k8s.ApiClient, core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("web"))
    m, url, headers, _, _ = api_client.param_serialize("GET", "/api/v1/namespaces/default/services",
                                                       query_params=[("watch", "1"), ("timeoutSeconds", "1")],
                                                       auth_settings=["BearerToken"])
    resp = api_client.call_api(m, url, header_params=headers)
    assert resp.status == 200
    assert resp.getheader("Transfer-Encoding") == "chunked"
    lines = resp.read().decode().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["ADDED"]


def test_watch_fan_out_to_many_watchers(apiserver, core: Api) -> None:
    collectors = [Collector(core.list_namespaced_service, "default", timeout_seconds=10) for _ in range(5)]
    wait_for(lambda: len(apiserver.server.store.watchers()) == 5, timeout=5)
    raw(core.create_namespaced_service, "default", service_body("web"))
    for c in collectors:
        wait_for(functools.partial(lambda c: c.types() == ["ADDED"], c), timeout=5)
        c.stop()


def test_legacy_watch_has_no_initial_events_end_bookmark() -> None:
    """kube-apiserver marks the end of the initial events only for sendInitialEvents=true."""
    with own_server(bookmark_interval=0.1) as core:
        raw(core.create_namespaced_service, "default", service_body("web"))
        c = Collector(core.list_namespaced_service, "default", allow_watch_bookmarks=True, timeout_seconds=10)
        wait_for(lambda: sum(1 for t, _, _ in c.events if t == "BOOKMARK") >= 2, timeout=5)
        assert c.events[0][0] == "ADDED"
        assert all("annotations" not in e["raw_object"]["metadata"] for e in c.raw)
        c.stop()


def test_send_initial_events_false_starts_from_now(core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("old"))
    c = Collector(core.list_namespaced_service, "default", timeout_seconds=10, send_initial_events=False,
                  resource_version_match="NotOlderThan")
    created: list[str] = []

    def write_then_seen() -> bool:
        # the stream has started once a write made after it shows up; "old" must never appear
        created.append(f"new{len(created)}")
        raw(core.create_namespaced_service, "default", service_body(created[-1]))
        return bool(c.events)

    wait_for(write_then_seen, timeout=5)
    assert c.events[0][0] == "ADDED" and c.events[0][1] in created
    assert "old" not in {n for _, n, _ in c.events}
    c.stop()


@pytest.mark.parametrize(("query", "message"), [
    ([("sendInitialEvents", "true")],
     "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    ([("resourceVersionMatch", "NotOlderThan")],
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
     "provided"),
])
def test_watch_list_options_are_validated(api_client: k8s.ApiClient, query: list[tuple[str, str]],
                                          message: str) -> None:
    status, body = request(api_client, "GET", "/api/v1/services", query=[("watch", "true"), *query])
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"] == f'ListOptions.meta.k8s.io "" is invalid: {message}'
    assert body["details"]["kind"] == "ListOptions" and body["details"]["group"] == "meta.k8s.io"


def test_client_disconnect_unregisters_the_watcher(apiserver, api_client: k8s.ApiClient) -> None:
    m, url, headers, _, _ = api_client.param_serialize("GET", "/api/v1/namespaces/default/services",
                                                       query_params=[("watch", "true")], auth_settings=["BearerToken"])
    resp = api_client.rest_client.pool_manager.request(m, url, headers=headers, preload_content=False)
    wait_for(lambda: len(apiserver.server.store.watchers()) == 1, timeout=5)
    resp.connection.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    resp.release_conn()
    wait_for(lambda: not apiserver.server.store.watchers(), timeout=5)


def test_finalizer_removal_emits_deleted(core: Api) -> None:
    raw(core.create_namespaced_service, "default", dict(service_body("web"), metadata={
        "name": "web", "finalizers": ["example.com/cleanup"]}))
    start = raw(core.read_namespaced_service, "web", "default")["metadata"]["resourceVersion"]
    raw(core.delete_namespaced_service, "web", "default")
    answer = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"finalizers": None}})
    c = Collector(core.list_namespaced_service, "default", resource_version=start, timeout_seconds=10)
    wait_for(lambda: c.types() == ["MODIFIED", "DELETED"], timeout=5, message=lambda: str(c.events))
    deleted = c.raw[-1]["raw_object"]
    # kube-apiserver never writes the emptied version: it deletes the stored object as it was
    # (deleteWithoutFinalizers), so the DELETED event and the answer still list the finalizer
    assert deleted["metadata"]["deletionTimestamp"] and deleted["metadata"]["finalizers"] == ["example.com/cleanup"]
    assert answer == deleted
    assert int(deleted["metadata"]["resourceVersion"]) > int(c.events[0][2])
    c.stop()


def test_finalizer_removal_on_other_resources_answers_status_success(api_client: k8s.ApiClient) -> None:
    path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
    status, created = request(api_client, "POST", path, {"metadata": {"name": "s", "finalizers": ["example.com/f"]},
                                                         "addressType": "IPv4", "endpoints": []})
    assert status == 201
    request(api_client, "DELETE", f"{path}/s")
    status, body = request(api_client, "PATCH", f"{path}/s", {"metadata": {"finalizers": None}},
                           content_type="application/merge-patch+json")
    assert status == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["uid"] == created["metadata"]["uid"]
    assert request(api_client, "GET", f"{path}/s")[0] == 404


def test_initial_events_from_a_future_resource_version_is_an_error_event(api_client: k8s.ApiClient) -> None:
    status, body = request(api_client, "GET", "/api/v1/services", query=[
        ("watch", "true"), ("sendInitialEvents", "true"), ("resourceVersionMatch", "NotOlderThan"),
        ("resourceVersion", "999999")])
    assert status == 200  # the stream holds exactly one event
    assert body["type"] == "ERROR" and body["object"]["code"] == 504
    assert body["object"]["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
