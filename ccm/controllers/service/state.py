"""The controller's in-memory state: upstream ``serviceCache`` and ``lastSyncedNodes``.

Both hold read-only API dicts. The serviceCache keeps the last Service a worker processed (set
before the cloud call) so node sync knows what to update, deletion works once the Service is gone
from the informer, and a uid change (deleted and re-created) is detected.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]


class ServiceCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Obj] = {}

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._state.get(key)

    def set(self, key: str, svc: Obj) -> None:
        with self._lock:
            self._state[key] = svc

    def delete(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)

    def all(self) -> list[tuple[str, Obj]]:
        with self._lock:
            return list(self._state.items())

    def __len__(self) -> int:
        with self._lock:
            return len(self._state)


class LastSyncedNodes:
    """Per Service, the node set last handed to the cloud (written before each cloud call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[str, list[Obj]] = {}

    def get(self, key: str) -> list[Obj]:
        with self._lock:
            return list(self._nodes.get(key, ()))

    def set(self, key: str, nodes: list[Obj]) -> None:
        with self._lock:
            self._nodes[key] = list(nodes)

    def prune(self, key: str) -> None:
        with self._lock:
            self._nodes.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._nodes

    def __len__(self) -> int:
        with self._lock:
            return len(self._nodes)
