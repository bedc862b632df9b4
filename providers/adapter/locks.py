"""Per-key locks: the service worker and the node-sync worker never reconcile one Service at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class KeyedLocks:
    """One lock per key (a Service), for serialising ``ensure`` and ``update`` on it.

    A key's lock lives only while someone holds or waits for it, so a long-running
    controller does not keep one per Service it has ever seen.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        #: key -> [its lock, callers holding or waiting for it]
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]

    def __len__(self) -> int:
        """Keys currently held or waited for."""
        with self._guard:
            return len(self._locks)
