"""The versioned object store: one global revision counter, per-resource history, watch fan-out.

Like etcd plus kube-apiserver's watch cache: every write takes the next revision from one
counter; each resource keeps its last ``history`` events so a watch can resume from a
resourceVersion and a paginated list can be served from a consistent snapshot; anything
older is "expired" (410). Objects are serialised once per version and the bytes are shared
by GET, LIST and every watcher. The store is single-threaded: only the server's event loop
calls it, so it needs no locks.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import dataclasses
import json
import logging
import operator
from collections.abc import Callable, Iterable
from typing import Any

from ccm.apiserver.decoding import MAX_OBJECT_BYTES
from ccm.apiserver.errors import expired, request_entity_too_large

log = logging.getLogger(__name__)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(obj: Any) -> bytes:
    return _dumps(obj).encode()


@dataclasses.dataclass(slots=True)
class Entry:
    """One stored object version. ``obj`` is shared and must never be mutated."""

    obj: dict[str, Any]
    raw: bytes
    rv: int
    _item: bytes | None = None
    _binary: bytes | None = None

    @property
    def item_raw(self) -> bytes:
        """The object as a list item: kube-apiserver omits kind/apiVersion inside typed lists."""
        if self._item is None:
            head = dumps({"kind": self.obj.get("kind"), "apiVersion": self.obj.get("apiVersion")})[:-1] + b","
            self._item = b"{" + self.raw[len(head):] if self.raw.startswith(head) else self.raw
        return self._item

    def binary(self, encode: Callable[[dict[str, Any]], bytes]) -> bytes:
        """The object in the server's binary encoding (``encode``: protobuf), made once for every
        watcher and reader of this version instead of once per watcher."""
        if self._binary is None:
            self._binary = encode(self.obj)
        return self._binary


@dataclasses.dataclass(slots=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: str
    entry: Entry
    prev: Entry | None


def _at_revision(entry: Entry, rv: int) -> Entry:
    obj = dict(entry.obj, metadata=dict(entry.obj.get("metadata") or {}, resourceVersion=str(rv)))
    return Entry(obj, dumps(obj), rv)


class Watcher:
    """One open watch: filters events, buffers rendered lines for the HTTP writer."""

    __slots__ = ("closed", "lines", "match", "max_buffer", "namespace", "render", "resource", "wake")

    def __init__(self, resource: str, namespace: str | None, match: Callable[[dict[str, Any]], bool] | None,
                 render: Callable[[str, Entry], bytes], max_buffer: int = 200_000) -> None:
        self.resource = resource
        self.namespace = namespace
        self.match = match
        self.render = render
        self.lines: collections.deque[bytes] = collections.deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.max_buffer = max_buffer

    def _in_ns(self, obj: dict[str, Any]) -> bool:
        return self.namespace is None or obj.get("metadata", {}).get("namespace") == self.namespace

    def _selected(self, obj: dict[str, Any] | None) -> bool:
        return obj is not None and self._in_ns(obj) and (self.match is None or self.match(obj))

    def offer(self, event: Event) -> None:
        """Queue the event as this watcher sees it (selector moves become ADDED/DELETED, as upstream)."""
        if self.closed:
            return
        now = self._selected(event.entry.obj)
        if event.type == "ADDED":
            kind = "ADDED" if now else None
        elif event.type == "DELETED":
            kind = "DELETED" if self._selected(event.prev.obj if event.prev else event.entry.obj) else None
        else:
            was = self._selected(event.prev.obj if event.prev else None)
            kind = ("MODIFIED" if was else "ADDED") if now else ("DELETED" if was else None)
            if kind == "DELETED" and event.prev is not None:
                # leaving the selector: upstream sends the previous object at the new revision
                self.push(self.render(kind, _at_revision(event.prev, event.rv)))
                return
        if kind is not None:
            self.push(self.render(kind, event.entry))

    def push(self, line: bytes) -> None:
        if len(self.lines) >= self.max_buffer:
            log.warning("watch on %s: client too slow, closing the stream", self.resource)
            self.close()
            return
        self.lines.append(line)
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


def in_namespace(items: list[tuple[str, Entry]], namespace: str) -> list[tuple[str, Entry]]:
    """The slice of key-sorted ``items`` in one namespace ("/" sorts just below "0")."""
    lo = bisect.bisect_left(items, namespace + "/", key=operator.itemgetter(0))
    hi = bisect.bisect_left(items, namespace + "0", key=operator.itemgetter(0))
    return items[lo:hi]


class Store:
    """All objects of all resources, keyed by resource then ``namespace/name`` (or ``name``)."""

    def __init__(self, history: int = 1000, start_revision: int = 1, max_object_bytes: int = MAX_OBJECT_BYTES) -> None:
        #: a store that starts above 1 stands for one restored or restarted with a newer etcd
        #: revision: nothing older than its start is in its history (a watch from there is a 410)
        self.rv = start_revision
        self.history_size = max(1, history)
        #: etcd's request limit bounds every stored object (a write over it is refused, a 413)
        self.max_object_bytes = max_object_bytes
        self._objects: dict[str, dict[str, Entry]] = collections.defaultdict(dict)
        self._history: dict[str, collections.deque[Event]] = collections.defaultdict(
            lambda: collections.deque(maxlen=self.history_size))
        #: per resource: the newest revision that fell out of the history window
        self._compacted: dict[str, int] = collections.defaultdict(lambda: start_revision - 1)
        self._watchers: dict[str, set[Watcher]] = collections.defaultdict(set)
        self._snapshots: collections.OrderedDict[tuple[str, int], list[tuple[str, Entry]]] = \
            collections.OrderedDict()
        #: per resource: its objects sorted by key, rebuilt on the first read after a write
        #: (paginated lists of 10,000 objects would otherwise sort once per page)
        self._sorted: dict[str, list[tuple[str, Entry]]] = {}

    # ---------------------------------------------------------------- reads

    def get(self, resource: str, key: str) -> Entry | None:
        return self._objects[resource].get(key)

    def items(self, resource: str, namespace: str | None = None) -> list[tuple[str, Entry]]:
        """Current objects sorted by key (etcd order), optionally in one namespace."""
        ordered = self._sorted.get(resource)
        if ordered is None:
            ordered = self._sorted[resource] = sorted(self._objects[resource].items())
        return ordered if namespace is None else in_namespace(ordered, namespace)

    def count(self, resource: str) -> int:
        return len(self._objects[resource])

    def snapshot(self, resource: str, rv: int) -> list[tuple[str, Entry]]:
        """The resource's objects as they were at revision ``rv`` (410 once that is out of history)."""
        if rv >= self.rv:
            return self.items(resource)
        cached = self._snapshots.get((resource, rv))
        if cached is not None:
            return cached
        if rv < self._compacted[resource]:
            raise expired(f"The resourceVersion for the provided list is too old. (requested {rv}, "
                          f"oldest available {self._compacted[resource] + 1})")
        state = dict(self._objects[resource])
        for ev in reversed(self._history[resource]):
            if ev.rv <= rv:
                break
            if ev.prev is None:
                state.pop(ev.key, None)
            else:
                state[ev.key] = ev.prev
        snap = sorted(state.items())
        self._snapshots[(resource, rv)] = snap
        while len(self._snapshots) > 8:
            self._snapshots.popitem(last=False)
        return snap

    def events_since(self, resource: str, rv: int) -> Iterable[Event]:
        """Retained events newer than ``rv``; 410 when some of them were already dropped."""
        if rv < self._compacted[resource]:
            oldest = self._history[resource][0].rv if self._history[resource] else self.rv
            raise expired(f"too old resource version: {rv} ({oldest - 1})")
        return [ev for ev in self._history[resource] if ev.rv > rv]

    # ---------------------------------------------------------------- writes

    def _stamp(self, obj: dict[str, Any]) -> Entry:
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv + 1)
        raw = dumps(obj)
        if len(raw) > self.max_object_bytes:
            raise request_entity_too_large("etcdserver: request is too large")
        self.rv += 1
        return Entry(obj, raw, self.rv)

    def _record(self, resource: str, type_: str, key: str, entry: Entry, prev: Entry | None) -> Entry:
        self._sorted.pop(resource, None)
        ev = Event(entry.rv, type_, key, entry, prev)
        hist = self._history[resource]
        if len(hist) == hist.maxlen:
            self._compacted[resource] = hist[0].rv
        hist.append(ev)
        for w in tuple(self._watchers[resource]):
            w.offer(ev)
        return entry

    def create(self, resource: str, key: str, obj: dict[str, Any]) -> Entry:
        entry = self._stamp(obj)
        self._objects[resource][key] = entry
        return self._record(resource, "ADDED", key, entry, None)

    def update(self, resource: str, key: str, obj: dict[str, Any]) -> Entry:
        prev = self._objects[resource][key]
        entry = self._stamp(obj)
        self._objects[resource][key] = entry
        return self._record(resource, "MODIFIED", key, entry, prev)

    def delete(self, resource: str, key: str, obj: dict[str, Any]) -> Entry:
        """Remove the object; ``obj`` is its final state (it gets the deletion's revision)."""
        prev = self._objects[resource].pop(key)
        entry = self._stamp(obj)
        return self._record(resource, "DELETED", key, entry, prev)

    # ---------------------------------------------------------------- watch

    def add_watcher(self, watcher: Watcher) -> None:
        self._watchers[watcher.resource].add(watcher)

    def remove_watcher(self, watcher: Watcher) -> None:
        self._watchers[watcher.resource].discard(watcher)

    def watchers(self) -> list[Watcher]:
        return [w for ws in self._watchers.values() for w in ws]

    def drop_watches(self) -> int:
        """Close every open watch (test hook: clients must reconnect)."""
        ws = self.watchers()
        for w in ws:
            w.close()
        return len(ws)
