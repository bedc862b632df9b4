"""The controller's in-memory state: upstream ``serviceCache`` and ``lastSyncedNodes``.

Both hold read-only objects (API dicts, :class:`NodeSet`). The serviceCache keeps the last Service
a worker processed (set before the cloud call) so node sync knows what to update, deletion works
once the Service is gone from the informer, and a uid change (deleted and re-created) is detected.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from ccm.controllers.service.nodeset import EMPTY, NodeSet
from ccm.controllers.service.predicates import Obj

V = TypeVar("V")


class _LockedMap(Generic[V]):
    """Per-Service-key values shared by the service workers and the node-sync pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, V] = {}

    def set(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class ServiceCache(_LockedMap[Obj]):
    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._items.get(key)

    def all(self) -> list[tuple[str, Obj]]:
        with self._lock:
            return list(self._items.items())


class LastSyncedNodes(_LockedMap[NodeSet]):
    """Per Service, the node set last handed to the cloud (written before each cloud call)."""

    def get(self, key: str) -> NodeSet:
        with self._lock:
            return self._items.get(key, EMPTY)

    prune = _LockedMap.delete  # upstream never prunes it (a small leak); we do on delete
