"""Informer: list/watch/resume/relist logic against a scripted source, then the real API server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ccm.kube.client import ApiError, RawClient
from ccm.kube.clock import FakeClock
from ccm.kube.informer import Informer
from ccm.kube.resources import SERVICES, object_key
from ccm.kube.store import namespace_index
from tests.kube.fakes import FakeSource, FakeStream, Partitionable
from tests.util import wait_for


class Recorder:
    """Collects handler calls as ("add"|"update"|"delete", key, rv) tuples."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def _rec(self, kind: str, obj: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((kind, object_key(obj), obj["metadata"]["resourceVersion"]))

    def attach(self, inf: Informer) -> None:
        inf.add_handler(on_add=lambda o: self._rec("add", o),
                        on_update=lambda old, new: self._rec("update", new),
                        on_delete=lambda o: self._rec("delete", o))

    def kinds(self, kind: str) -> list[str]:
        with self.lock:
            return [key for k, key, _ in self.calls if k == kind]


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
def running(source: FakeSource) -> Iterator[Callable[[], tuple[Informer, Recorder]]]:
    """Start an informer with a recorder once the test has set up the source."""
    started: list[Informer] = []

    def start() -> tuple[Informer, Recorder]:
        inf = Informer(source, SERVICES, indexers={"namespace": namespace_index}, backoff_initial=0.01)
        rec = Recorder()
        rec.attach(inf)
        inf.start()
        started.append(inf)
        return inf, rec

    yield start
    for inf in started:
        inf.stop()


def nth_watch(source: FakeSource, n: int) -> FakeStream:
    """Wait for the informer's n-th watch call (0-based)."""
    wait_for(lambda: len(source.watches) > n, message=f"watch #{n}")
    return source.watches[n]


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def test_initial_list_is_paginated_delivered_as_adds_and_typed(source: FakeSource):
    for i in range(5):
        source.obj(f"s{i}", namespace="a" if i < 3 else "b")
    inf = Informer(source, SERVICES, indexers={"namespace": namespace_index}, page_size=2)
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        assert [c.get("limit") for c in source.list_calls] == [2, 2, 2]
        assert [c.get("continue") for c in source.list_calls] == [None, "2", "4"]
        assert sorted(rec.kinds("add")) == [f"a/s{i}" for i in range(3)] + ["b/s3", "b/s4"]
        assert len(inf.store.by_index("namespace", "a")) == 3
        obj = inf.store.get("b/s4")
        assert obj is not None and obj["kind"] == "Service" and obj["apiVersion"] == "v1"
        wait_for(lambda: source.watches)
        params = source.watches[0].params
        assert params["resourceVersion"] == "105"
        assert params["allowWatchBookmarks"] == "true"
        assert 300 <= params["timeoutSeconds"] < 600
    finally:
        inf.stop()


def test_expired_continue_token_falls_back_to_one_full_list(source: FakeSource):
    for i in range(5):
        source.obj(f"s{i}")
    source.expire_continue = 1
    inf = Informer(source, SERVICES, page_size=2)
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        assert [(c.get("limit"), c.get("continue")) for c in source.list_calls] == [
            (2, None), (2, "2"), (None, None)]
        assert len(inf.store) == 5
    finally:
        inf.stop()


def test_selectors_go_to_list_and_watch(source: FakeSource):
    inf = Informer(source, SERVICES, namespace="shop", label_selector="app=web",
                   field_selector="metadata.name=x")
    inf.start()
    try:
        stream = nth_watch(source, 0)
        for params in (source.list_calls[0], stream.params):
            assert params["labelSelector"] == "app=web"
            assert params["fieldSelector"] == "metadata.name=x"
        assert set(source.paths) == {"/api/v1/namespaces/shop/services"}
    finally:
        inf.stop()


def test_handlers_not_synced_before_first_list(source: FakeSource):
    inf = Informer(source, SERVICES)
    assert not inf.has_synced()
    assert inf.wait_for_sync(0.01) is False


def test_watch_events_update_cache_and_handlers_in_order(source, running):
    inf, rec = running()
    assert inf.wait_for_sync(5)
    stream = nth_watch(source, 0)
    stream.push(event("ADDED", source.obj("x")))
    stream.push(event("MODIFIED", source.obj("x", spec={"v": 2})))
    stream.push(event("DELETED", source.remove("x")))
    stream.push(event("MODIFIED", source.obj("y")))  # unknown key: an add
    wait_for(lambda: len(rec.calls) == 4)
    assert [(k, key) for k, key, _ in rec.calls] == [
        ("add", "default/x"), ("update", "default/x"), ("delete", "default/x"), ("add", "default/y")]
    assert inf.store.get("default/x") is None
    assert inf.last_sync_resource_version == str(source.rv)


def test_stream_end_or_drop_resumes_from_last_resource_version_without_relist(source, running):
    source.obj("a")
    inf, rec = running()
    assert inf.wait_for_sync(5)
    first = nth_watch(source, 0)
    first.push(event("MODIFIED", source.obj("a", spec={"v": 1})))
    first.push(event("BOOKMARK", {"kind": "Service", "metadata": {"resourceVersion": "500"}}))
    first.end()
    second = nth_watch(source, 1)
    assert second.params["resourceVersion"] == "500"
    second.push(event("ADDED", source.obj("b")))
    second.push(ApiError(0, "WatchDropped", "connection reset"))  # a drop mid-stream
    third = nth_watch(source, 2)
    assert third.params["resourceVersion"] == str(source.rv)
    assert len(source.list_calls) == 1  # no relist, so no duplicate adds
    assert rec.kinds("add") == ["default/a", "default/b"]


def test_410_error_event_relists_and_delivers_the_difference(source, running):
    for name in ("keep", "change", "gone"):
        source.obj(name)
    inf, rec = running()
    assert inf.wait_for_sync(5)
    stream = nth_watch(source, 0)
    # Meanwhile, changes the watch never reports:
    source.obj("change", spec={"v": 2})
    source.remove("gone")
    source.obj("new")
    stream.push(event("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}))
    wait_for(lambda: len(source.list_calls) == 2)
    wait_for(lambda: len(rec.calls) == 6, message=lambda: repr(rec.calls))
    assert sorted((k, key) for k, key, _ in rec.calls[3:]) == [
        ("add", "default/new"), ("delete", "default/gone"), ("update", "default/change")]
    assert sorted(inf.store.keys()) == ["default/change", "default/keep", "default/new"]
    wait_for(lambda: len(source.watches) == 2)
    assert source.watches[1].params["resourceVersion"] == str(source.rv)


def test_http_410_on_watch_relists(source: FakeSource):
    source.obj("a")
    source.watch_errors.append(ApiError(410, "Expired", "too old resource version"))
    inf = Informer(source, SERVICES)
    inf.start()
    try:
        wait_for(lambda: len(source.list_calls) == 2 and source.watches)
    finally:
        inf.stop()


def test_other_errors_back_off_and_retry(source: FakeSource):
    source.watch_errors.extend([ApiError(0, "ConnectionRefused", "down"), ApiError(500, "InternalError")])
    inf = Informer(source, SERVICES, backoff_initial=0.01)
    inf.start()
    try:
        wait_for(lambda: source.watches)
        assert len(source.list_calls) == 2  # the 500 relists; a connection error only re-watches
    finally:
        inf.stop()


def test_handler_exception_is_logged_and_the_informer_goes_on(source: FakeSource, caplog):
    source.obj("a")
    source.obj("b")
    seen: list[str] = []

    def on_add(obj: dict[str, Any]) -> None:
        if obj["metadata"]["name"] == "a":
            raise RuntimeError("boom")
        seen.append(object_key(obj))

    inf = Informer(source, SERVICES)
    inf.add_handler(on_add=on_add)
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        assert seen == ["default/b"]
        assert "default/a: event handler failed" in caplog.text
    finally:
        inf.stop()


def test_late_handler_gets_the_cache_as_adds(source, running):
    source.obj("a")
    running()
    inf2 = Informer(source, SERVICES)
    inf2.start()
    try:
        assert inf2.wait_for_sync(5)
        late: list[str] = []
        inf2.add_handler(on_add=lambda o: late.append(object_key(o)))
        assert late == ["default/a"]
    finally:
        inf2.stop()


def test_resync_delivers_updates_with_same_object_on_the_fake_clock(source: FakeSource):
    clock = FakeClock()
    source.obj("a")
    inf = Informer(source, SERVICES, resync_period=30.0, clock=clock)
    updates: list[tuple[str, bool]] = []
    inf.add_handler(on_update=lambda old, new: updates.append((object_key(new), old is new)))
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        wait_for(lambda: clock.waiters == 1)  # the resync timer is armed
        clock.step(29.0)
        assert updates == []
        clock.step(1.0)
        wait_for(lambda: updates == [("default/a", True)])
        wait_for(lambda: clock.waiters == 1)
        clock.step(30.0)
        wait_for(lambda: len(updates) == 2)
    finally:
        inf.stop()


def test_stop_is_prompt_and_closes_the_watch(source, running):
    inf, _ = running()
    stream = nth_watch(source, 0)
    inf.stop()
    assert stream.closed.is_set()
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("informer-services"))


# ------------------------------------------------------------------ against the embedded API server


def make_service(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}


def server_state(client: RawClient) -> dict[str, str]:
    items = client.list(SERVICES.collection_path())["items"]
    return {object_key(i): i["metadata"]["resourceVersion"] for i in items}


def cache_state(inf: Informer) -> dict[str, str]:
    return {object_key(o): o["metadata"]["resourceVersion"] for o in inf.store.list()}


@pytest.fixture
def raw(api_client) -> RawClient:
    return RawClient(api_client, timeout=10.0)


def test_real_list_watch_and_selectors(raw: RawClient):
    path = SERVICES.collection_path("default")
    raw.create(path, make_service("a", app="x"))
    raw.create(path, make_service("b", app="y"))
    inf = Informer(raw, SERVICES, label_selector="app=x", page_size=1)
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        assert inf.store.keys() == ["default/a"]
        raw.create(path, make_service("c", app="x"))
        raw.patch(SERVICES.item_path("default", "a"), {"metadata": {"annotations": {"k": "v"}}}, "merge")
        raw.delete(SERVICES.item_path("default", "c"))
        raw.create(path, make_service("d", app="y"))  # not selected
        wait_for(lambda: len(rec.calls) == 4, message=lambda: repr(rec.calls))
        assert [(k, key) for k, key, _ in rec.calls] == [
            ("add", "default/a"), ("add", "default/c"), ("update", "default/a"), ("delete", "default/c")]
        a = inf.store.get("default/a")
        assert a is not None and a["metadata"]["annotations"] == {"k": "v"}
    finally:
        inf.stop()


def test_real_watch_drops_mid_run_lose_nothing_and_add_nothing_twice(apiserver, raw: RawClient):
    path = SERVICES.collection_path("default")
    for i in range(20):
        raw.create(path, make_service(f"s{i}"))
    inf = Informer(raw, SERVICES)
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        for round_ in range(5):
            for i in range(5, 20):
                raw.patch(SERVICES.item_path("default", f"s{i}"),
                          {"metadata": {"labels": {"round": str(round_)}}}, "merge")
                if i % 7 == 0:
                    # a drop before the informer has reconnected would close nothing
                    wait_for(lambda: apiserver.open_watch_count() > 0, timeout=10,
                             message="the informer's watch to reopen")
                    apiserver.drop_watches()
            raw.create(path, make_service(f"new{round_}"))
            raw.delete(SERVICES.item_path("default", f"s{round_}"))
        expected = server_state(raw)
        wait_for(lambda: cache_state(inf) == expected, timeout=10,
                 message=lambda: f"cache {len(cache_state(inf))} vs server {len(expected)}")
        assert inf.relists == 1  # every drop resumed the watch, none relisted
        assert inf.watches > 5
        adds = rec.kinds("add")
        assert sorted(adds) == sorted({*(f"default/s{i}" for i in range(20)),
                                       *(f"default/new{r}" for r in range(5))})
        assert sorted(rec.kinds("delete")) == [f"default/s{r}" for r in range(5)]
    finally:
        inf.stop()


def test_real_410_relists_and_delivers_deletes_missed_while_away():
    from ccm.apiserver.testing import embedded_apiserver

    with embedded_apiserver(watch_history=5) as server, server.api_client() as api:
        raw = RawClient(api, timeout=10.0)
        net = Partitionable(raw)
        path = SERVICES.collection_path("default")
        for name in ("keep", "change", "gone"):
            raw.create(path, make_service(name))
        inf = Informer(net, SERVICES, backoff_initial=0.02, backoff_max=0.05)
        rec = Recorder()
        rec.attach(inf)
        inf.start()
        try:
            assert inf.wait_for_sync(5)
            # The watch must be open on the server before the partition, or it would start late
            # and simply see every change live.
            wait_for(lambda: server.call(lambda: len(server.server.store.watchers())) == 1)
            watches_before = inf.watches
            net.partitioned = True
            server.drop_watches()
            raw.delete(SERVICES.item_path("default", "gone"))
            raw.patch(SERVICES.item_path("default", "change"), {"metadata": {"labels": {"v": "2"}}}, "merge")
            for i in range(10):  # push the informer's resume point out of the 5-event history
                raw.create(path, make_service(f"n{i}"))
            net.partitioned = False
            wait_for(lambda: inf.relists == 2, timeout=10)
            expected = server_state(raw)
            wait_for(lambda: cache_state(inf) == expected, timeout=10)
            assert inf.watches > watches_before
            assert rec.kinds("delete") == ["default/gone"]
            assert rec.kinds("update") == ["default/change"]
            assert sorted(rec.kinds("add")) == sorted(["default/keep", "default/change", "default/gone",
                                                       *(f"default/n{i}" for i in range(10))])
        finally:
            inf.stop()


def test_real_bookmarks_advance_the_resume_point():
    from ccm.apiserver.testing import embedded_apiserver

    with embedded_apiserver(bookmark_interval=0.05) as server, server.api_client() as api:
        raw = RawClient(api, timeout=10.0)
        inf = Informer(raw, SERVICES)
        inf.start()
        try:
            assert inf.wait_for_sync(5)
            listed = int(inf.last_sync_resource_version)
            node = raw.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                                "metadata": {"name": "n1"}})
            node_rv = int(node["metadata"]["resourceVersion"])
            assert node_rv > listed
            wait_for(lambda: int(inf.last_sync_resource_version) >= node_rv, timeout=5)
            assert inf.store.list() == []
        finally:
            inf.stop()


def test_real_stop_is_prompt(raw: RawClient):
    inf = Informer(raw, SERVICES)
    inf.start()
    assert inf.wait_for_sync(5)
    wait_for(lambda: inf.watches == 1)
    began = time.monotonic()
    inf.stop()
    assert time.monotonic() - began < 2
    assert not any(t.is_alive() for t in threading.enumerate() if t.name == "informer-services")
