"""A scripted list/watch source for informer unit tests (the integration tests use the real server)."""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ccm.kube.client import ApiError
from ccm.kube.resources import object_key

_END = object()


class FakeStream:
    """A watch stream the test feeds with events, errors, or an end."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self._events: queue.Queue[Any] = queue.Queue()
        self.closed = threading.Event()

    def push(self, event: dict[str, Any] | BaseException) -> None:
        self._events.put(event)

    def end(self) -> None:
        self._events.put(_END)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            item = self._events.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.closed.set()
        self._events.put(_END)


class FakeSource:
    """Objects with resourceVersions, paginated lists, and one FakeStream per watch call."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.rv = 100
        self.list_calls: list[dict[str, Any]] = []
        self.watches: list[FakeStream] = []
        self.watch_errors: list[ApiError] = []
        self.paths: list[str] = []
        self.expire_continue = 0  # how many continued list calls answer 410
        self.lock = threading.Lock()

    def obj(self, name: str, namespace: str = "default", **extra: Any) -> dict[str, Any]:
        """Store (create or change) an object and return the stored copy."""
        with self.lock:
            self.rv += 1
            obj = {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(self.rv),
                                "uid": f"uid-{name}"}, **extra}
            self.objects[object_key(obj)] = obj
            return copy.deepcopy(obj)

    def remove(self, name: str, namespace: str = "default") -> dict[str, Any]:
        with self.lock:
            self.rv += 1
            obj = self.objects.pop(f"{namespace}/{name}")
            obj["metadata"]["resourceVersion"] = str(self.rv)
            return copy.deepcopy(obj)

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        params = dict(params or {})
        self.list_calls.append(params)
        self.paths.append(path)
        if params.get("continue") and self.expire_continue:
            self.expire_continue -= 1
            raise ApiError(410, "Expired", "The provided continue parameter is too old")
        with self.lock:
            keys = sorted(self.objects)
            start = int(params.get("continue") or 0)
            limit = int(params.get("limit") or len(keys) or 1)
            page = keys[start:start + limit]
            meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
            if start + limit < len(keys):
                meta["continue"] = str(start + limit)
            return {"kind": "ServiceList", "metadata": meta,
                    "items": [copy.deepcopy(self.objects[k]) for k in page]}

    def watch(self, path: str, params: Mapping[str, Any] | None, timeout_seconds: int) -> FakeStream:
        if self.watch_errors:
            raise self.watch_errors.pop(0)
        self.paths.append(path)
        stream = FakeStream({**(params or {}), "timeoutSeconds": timeout_seconds})
        self.watches.append(stream)
        return stream


class FakeObjectAPI:
    """get/create/update with resourceVersion conflicts, for leader-election unit tests."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.rv = 0
        self.lock = threading.Lock()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self.lock:
            if path not in self.objects:
                raise ApiError(404, "NotFound", f"{path} not found")
            return copy.deepcopy(self.objects[path])

    def create(self, path: str, body: Mapping[str, Any],
               params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        item = f"{path}/{body['metadata']['name']}"
        with self.lock:
            if item in self.objects:
                raise ApiError(409, "AlreadyExists", f"{item} already exists")
            self.rv += 1
            obj = copy.deepcopy(dict(body))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.objects[item] = obj
            return copy.deepcopy(obj)

    def update(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            current = self.objects.get(path)
            if current is None:
                raise ApiError(404, "NotFound", f"{path} not found")
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "the object has been modified")
            self.rv += 1
            obj = copy.deepcopy(dict(body))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.objects[path] = obj
            return copy.deepcopy(obj)


class Partitionable:
    """Wraps a client; while ``partitioned`` every call fails like an unreachable server."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.partitioned = False

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.partitioned:
                raise ApiError(0, "ConnectionRefused", "partitioned")
            return target(*args, **kwargs)

        return call
