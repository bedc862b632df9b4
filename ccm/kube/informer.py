"""List + watch one resource into a local cache and tell handlers what changed (client-go's
reflector + shared informer, minus the sharing).

Contract, as upstream's SharedInformer:

* the cache is eventually consistent with the API server; events for one object arrive in
  order, across objects in no particular order;
* keys are ``namespace/name`` (``name`` for cluster-scoped objects);
* a delete followed by a re-create may arrive as an update: compare ``metadata.uid``;
* handlers run on the informer's thread, one at a time, and must only enqueue work;
* cached objects are the parsed JSON dicts and are read-only (see :mod:`ccm.kube.store`).

Life of the connection: list (paginated), then watch from the list's resourceVersion with
bookmarks; every event and bookmark moves the resume point. A stream that ends or drops is
re-opened from the resume point (no relist, so no duplicate adds). ``410 Gone`` (as an HTTP
status or an ERROR event) means the resume point is too old: relist, and deliver the
difference between the cache and the new list - including deletes that happened while the
watch was down. "Too large resource version" (the server is behind the resume point: it
restarted and lost its history) is handled the same way: relist from the server's latest. Unlike upstream, a relist does not re-deliver unchanged objects as updates
(same resourceVersion, nothing to do); ``resync_period`` is the way to re-reconcile everything.
Other failures back off with jitter before trying again.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ccm.kube.client import ApiError
from ccm.kube.clock import REAL_CLOCK, Clock
from ccm.kube.resources import Resource, object_key
from ccm.kube.store import Indexer, IndexFunc, Obj

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 500


class WatchSource(Protocol):
    """What the informer needs from :class:`ccm.kube.client.RawClient` (tests pass a fake)."""

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def watch(self, path: str, params: Mapping[str, Any] | None,
              timeout_seconds: int) -> Iterable[dict[str, Any]]: ...


@dataclasses.dataclass(frozen=True)
class Handler:
    """One registration of ``add_handler``; every callback is optional."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


class _Backoff:
    """Exponential backoff with full jitter; reset after a success."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def next(self) -> float:
        delay = self._next * (1.0 + random.random())
        self._next = min(self._next * 2.0, self.maximum)
        return min(delay, self.maximum)


class _ShortWatch(Exception):
    """A watch that closed at once without an event: back off instead of spinning."""


class Informer:
    """One resource's list+watch, cache (``.store``) and event handlers."""

    def __init__(
        self,
        client: WatchSource,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        resync_period: float | None = None,
        clock: Clock | None = None,
        watch_timeout: float = 300.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        page_size: int = LIST_PAGE_SIZE,
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.store = Indexer(indexers)
        self._clock = clock or REAL_CLOCK
        self._backoff = _Backoff(backoff_initial, backoff_max)
        self._path = resource.collection_path(namespace)
        self._name = f"{resource.plural}" + (f" in {namespace}" if namespace else "")
        self._handlers: list[Handler] = []
        # Serialises cache changes with handler calls, so handlers see events one at a time
        # and a handler added late gets a consistent snapshot.
        self._dispatch = threading.RLock()
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._stream: Iterable[dict[str, Any]] | None = None
        self._stream_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._resource_version = ""
        self.relists = 0
        self.watches = 0
        #: relists forced because the server was behind our resourceVersion (it lost history)
        self.too_large_relists = 0

    # ---------------------------------------------------------------- public API

    def add_handler(self, on_add: Callable[[Obj], None] | None = None,
                    on_update: Callable[[Obj, Obj], None] | None = None,
                    on_delete: Callable[[Obj], None] | None = None) -> Handler:
        """Register handlers; if the cache already synced, ``on_add`` gets every cached object."""
        handler = Handler(on_add, on_update, on_delete)
        with self._dispatch:
            self._handlers.append(handler)
            if self._synced.is_set() and on_add is not None:
                for obj in self.store.list():
                    self._call(on_add, obj)
        return handler

    def start(self) -> None:
        if self._threads:
            raise RuntimeError(f"informer for {self._name} already started")
        self._stop.clear()
        self._threads.append(threading.Thread(target=self._run, daemon=True,
                                              name=f"informer-{self.resource.plural}"))
        if self.resync_period:
            self._threads.append(threading.Thread(target=self._resync_loop, daemon=True,
                                                  name=f"resync-{self.resource.plural}"))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and join the threads (the open watch is shut down, so this is prompt)."""
        self._stop.set()
        self._close_stream()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._threads = []

    def has_synced(self) -> bool:
        """True once the first list is in the cache and its adds were delivered."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    @property
    def last_sync_resource_version(self) -> str:
        """Where the next watch resumes."""
        return self._resource_version

    # ---------------------------------------------------------------- the loop

    def _run(self) -> None:
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                self._watch()
                self._backoff.reset()
            except ApiError as exc:
                if self._stop.is_set():
                    break
                if exc.is_gone and not need_list:  # the watch's resume point expired
                    log.info("%s: resourceVersion %s expired, relisting", self._name,
                             self._resource_version)
                    need_list = True
                    continue
                if exc.is_too_large_resource_version and not need_list:
                    # the server is behind our resume point: it restarted and lost history, so
                    # whatever we cached may be gone. Relist from its latest state (client-go does
                    # the same); resuming would keep objects it no longer has.
                    log.warning("%s: resourceVersion %s is newer than the server's, relisting from "
                                "the latest: %s", self._name, self._resource_version, exc.message)
                    self.too_large_relists += 1
                    need_list = True
                    continue
                need_list = need_list or exc.status != 0
                delay = self._backoff.next()
                log.warning("%s: list/watch failed (retrying in %.2fs): %s", self._name, delay, exc)
                self._clock.wait(self._stop, delay)
            except _ShortWatch:
                delay = self._backoff.next()
                log.info("%s: watch closed at once (retrying in %.2fs)", self._name, delay)
                self._clock.wait(self._stop, delay)
            except Exception:
                if self._stop.is_set():
                    break
                delay = self._backoff.next()
                log.exception("%s: unexpected list/watch error (relisting in %.2fs)", self._name, delay)
                need_list = True
                self._clock.wait(self._stop, delay)

    def _selectors(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    def _list_pages(self) -> tuple[list[Obj], str]:
        params = self._selectors()
        params["limit"] = self.page_size
        items: list[Obj] = []
        resource_version = ""
        while True:
            try:
                page = self.client.list(self._path, params)
            except ApiError as exc:
                if exc.is_gone and "continue" in params:
                    # The snapshot behind the continue token expired: one unpaginated list.
                    log.info("%s: list continuation expired, listing without pages", self._name)
                    params = self._selectors()
                    items, resource_version = [], ""
                    continue
                raise
            meta = page.get("metadata") or {}
            if not resource_version:
                resource_version = meta.get("resourceVersion", "")
            items.extend(page.get("items") or ())
            token = meta.get("continue")
            if not token or "limit" not in params:
                return items, resource_version
            params["continue"] = token

    def _list(self) -> None:
        items, resource_version = self._list_pages()
        api_version, kind = self.resource.api_version, self.resource.kind
        for item in items:  # list items carry no type; events and recorders need it
            if "kind" not in item:
                item["kind"] = kind
                item["apiVersion"] = api_version
        with self._dispatch:
            self._replace(items, resource_version)
        self.relists += 1
        self._synced.set()
        log.debug("%s: listed %d objects at resourceVersion %s", self._name, len(items), resource_version)

    def _replace(self, items: list[Obj], resource_version: str) -> None:
        """Swap the cache for a fresh list and deliver what changed since the last one."""
        old: dict[str, Obj] = dict(self.store.items())
        self.store.replace(items, resource_version)
        self._resource_version = resource_version
        for obj in items:
            previous = old.pop(object_key(obj), None)
            if previous is None:
                self._notify_add(obj)
            elif _resource_version(previous) != _resource_version(obj):
                self._notify_update(previous, obj)
        for gone in old.values():  # deleted while we were not watching
            self._notify_delete(gone)

    def _watch(self) -> None:
        params = self._selectors()
        params["resourceVersion"] = self._resource_version
        params["allowWatchBookmarks"] = "true"
        # Spread reconnections of many informers, like the reflector's [t, 2t) timeout.
        timeout = int(self.watch_timeout * (1.0 + random.random()))
        started = time.monotonic()
        stream = self.client.watch(self._path, params, max(1, timeout))
        self.watches += 1
        with self._stream_lock:
            self._stream = stream
        if self._stop.is_set():
            self._close_stream()
            return
        events = 0
        try:
            for event in stream:
                if self._stop.is_set():
                    return
                self._handle(event)
                events += 1
        except ApiError as exc:
            if exc.status != 0 or self._stop.is_set():
                raise
            log.info("%s: watch dropped after %d events, resuming from %s: %s", self._name, events,
                     self._resource_version, exc.message)
        finally:
            self._close_stream()
        if events == 0 and time.monotonic() - started < 1.0 and not self._stop.is_set():
            raise _ShortWatch()

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "BOOKMARK":
            self._resource_version = _resource_version(obj) or self._resource_version
            return
        if kind == "ERROR":
            raise ApiError(int(obj.get("code") or 0) or 500, obj.get("reason") or "WatchError",
                           obj.get("message", ""), obj)
        with self._dispatch:
            if kind in {"ADDED", "MODIFIED"}:
                previous = self.store.add(obj)
                if previous is None:
                    self._notify_add(obj)
                else:
                    self._notify_update(previous, obj)
            elif kind == "DELETED":
                self.store.delete(obj)
                self._notify_delete(obj)
            else:
                log.warning("%s: ignoring watch event of unknown type %r", self._name, kind)
                return
            self._resource_version = _resource_version(obj) or self._resource_version
            self.store.resource_version = self._resource_version

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.debug("%s: closing watch failed", self._name, exc_info=True)

    def _resync_loop(self) -> None:
        assert self.resync_period
        while not self._clock.wait(self._stop, self.resync_period):
            if self._synced.is_set():
                self.resync()

    def resync(self) -> None:
        """Deliver ``on_update(obj, obj)`` for every cached object (periodic re-reconcile)."""
        with self._dispatch:
            for obj in self.store.list():
                self._notify_update(obj, obj)

    # ---------------------------------------------------------------- delivery

    def _call(self, func: Callable[..., None], *args: Obj) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("%s: event handler failed", _key_or_unknown(args[-1]))

    def _notify_add(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_add is not None:
                self._call(handler.on_add, obj)

    def _notify_update(self, old: Obj, new: Obj) -> None:
        for handler in self._handlers:
            if handler.on_update is not None:
                self._call(handler.on_update, old, new)

    def _notify_delete(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_delete is not None:
                self._call(handler.on_delete, obj)


def _resource_version(obj: Mapping[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("resourceVersion", "")  # type: ignore[no-any-return]


def _key_or_unknown(obj: Mapping[str, Any]) -> str:
    try:
        return object_key(obj)
    except (KeyError, TypeError):
        return "<unknown object>"
