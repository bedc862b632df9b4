"""Kubernetes Events for users (client-go's record.EventRecorder + EventCorrelator, core/v1).

``event()`` never blocks on the API: it logs the event (with the object key) and queues it
for a background writer. A bounded queue means a stuck API server costs dropped events,
never a stuck controller. Repeats of the same (object, type, reason, message) become one
Event whose ``count`` and ``lastTimestamp`` are patched, as upstream's correlator does.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import logging
import socket
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from ccm.kube.client import ApiError
from ccm.kube.clock import REAL_CLOCK, Clock
from ccm.kube.resources import EVENTS

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


class Recorder(Protocol):
    """What controllers need: :class:`EventRecorder` in production, :class:`FakeRecorder` in tests."""

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None: ...


class EventWriter(Protocol):
    def create(self, path: str, body: Mapping[str, Any],
               params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def patch(self, path: str, body: Any, patch_type: Any) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class ObjectReference:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectReference:
        meta = obj.get("metadata") or {}
        return cls(obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace", ""),
                   meta.get("name", ""), meta.get("uid", ""), meta.get("resourceVersion", ""))

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def to_api(self) -> dict[str, str]:
        ref = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name, "uid": self.uid,
               "resourceVersion": self.resource_version}
        if self.namespace:
            ref["namespace"] = self.namespace
        return {k: v for k, v in ref.items() if v}


@dataclasses.dataclass
class _Pending:
    ref: ObjectReference
    type: str
    reason: str
    message: str
    at: datetime.datetime


@dataclasses.dataclass
class _Seen:
    """The Event last written for one (object, type, reason, message)."""

    namespace: str
    name: str
    count: int


def _timestamp(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Writes Events from a background thread; see the module docstring."""

    _RETRIES = 3

    def __init__(self, client: EventWriter, component: str, host: str | None = None, *,
                 queue_size: int = 10000, cache_size: int = 4096, clock: Clock | None = None) -> None:
        # client-go's broadcaster drops past 1,000 queued events; a burst of 1,000 Services
        # converging emits two events each, so we keep ten times that (a few MiB at most).
        self.client = client
        self.component = component
        self.host = host if host is not None else socket.gethostname()
        self._clock = clock or REAL_CLOCK
        self._queue_size = queue_size
        self._cache_size = cache_size
        self._pending: collections.deque[_Pending] = collections.deque()
        self._busy = False  # the writer holds an item taken from _pending
        self._cond = threading.Condition()
        self._stopped = False
        self._stop_event = threading.Event()  # cuts retry waits short on stop()
        self._seen: collections.OrderedDict[tuple[Any, ...], _Seen] = collections.OrderedDict()
        self.dropped = 0
        self._last_ns = 0  # the newest Event name's timestamp; only the writer thread uses it
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"events-{component}")
        self._thread.start()

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        """Record an event about ``obj`` (an API dict); returns at once."""
        ref = ObjectReference.of(obj)
        log.info("%s: event %s %s: %s", ref.key, type, reason, message)
        if not ref.kind or not ref.name:
            log.warning("%s: event %s not written: object has no kind or name", ref.key, reason)
            return
        with self._cond:
            if self._stopped:
                return
            if len(self._pending) >= self._queue_size:
                self.dropped += 1
                log.warning("%s: event queue full, dropped event %s", ref.key, reason)
                return
            self._pending.append(_Pending(ref, type, reason, message, self._clock.wall()))
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was written (or given up); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._pending or self._busy), timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued (up to ``timeout``), then stop the writer."""
        self.flush(timeout)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._stop_event.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if not self._pending:
                    return
                item = self._pending.popleft()
                self._busy = True
            try:
                self._write(item)
            except Exception:
                log.exception("%s: writing event %s failed", item.ref.key, item.reason)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, item: _Pending) -> None:
        ref = item.ref
        cache_key = (ref.api_version, ref.kind, ref.namespace, ref.name, ref.uid,
                     item.type, item.reason, item.message)
        seen = self._seen.get(cache_key)
        stamp = _timestamp(item.at)
        if seen is not None:
            self._seen.move_to_end(cache_key)
            path = EVENTS.item_path(seen.namespace, seen.name)
            patch = {"count": seen.count + 1, "lastTimestamp": stamp}
            try:
                self._with_retries(ref, lambda: self.client.patch(path, patch, "strategic"))
                seen.count += 1
                return
            except ApiError as exc:
                if not exc.is_not_found:
                    log.warning("%s: updating event %s failed: %s", ref.key, item.reason, exc)
                    return
                # The Event expired (TTL) or was deleted: start a new one.
        namespace = ref.namespace or "default"
        # client-go names Events name.<unix nanoseconds>; our wall clock has microseconds, so two
        # events in one microsecond (two invalid annotations) would collide (409) and one be lost.
        self._last_ns = max(int(item.at.timestamp() * 1e9), self._last_ns + 1)
        name = f"{ref.name}.{self._last_ns:x}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref.to_api(),
            "reason": item.reason,
            "message": item.message,
            "type": item.type,
            "count": 1,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        try:
            self._with_retries(ref, lambda: self.client.create(EVENTS.collection_path(namespace), body))
        except ApiError as exc:
            log.warning("%s: writing event %s failed: %s", ref.key, item.reason, exc)
            return
        self._seen[cache_key] = _Seen(namespace, name, 1)
        while len(self._seen) > self._cache_size:
            self._seen.popitem(last=False)

    def _with_retries(self, ref: ObjectReference, call: Any) -> None:
        """Retry what may pass next time (no connection, 5xx, 429); a few quick tries only."""
        for attempt in range(self._RETRIES):
            try:
                call()
                return
            except ApiError as exc:
                retriable = exc.status == 0 or exc.status >= 500 or exc.status == 429
                if not retriable or attempt == self._RETRIES - 1 or self._stopped:
                    raise
                log.debug("%s: event write failed, retrying: %s", ref.key, exc)
                self._stop_event.wait(0.05 * 2**attempt)


class FakeRecorder:
    """Collects ``"<Type> <Reason> <Message>"`` strings, like client-go's FakeRecorder."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.objects: list[tuple[str, str]] = []  # (object key, event string)
        self._lock = threading.Lock()

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        text = f"{type} {reason} {message}"
        with self._lock:
            self.events.append(text)
            self.objects.append((ObjectReference.of(obj).key, text))

    def clear(self) -> list[str]:
        with self._lock:
            events, self.events, self.objects = self.events, [], []
            return events

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def stop(self, timeout: float = 5.0) -> None:
        return None
