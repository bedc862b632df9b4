"""Dial timeouts without a TimerHandle per dial.

Why: a dial to a live backend almost always completes before its timeout, so arming and
cancelling a ``call_later`` per connection (heap push, Handle, cancelled-timer cleanup) is
pure waste. Deadlines of one timeout length arrive in order, so each length gets a FIFO and
the engine keeps one loop timer, for the earliest head. An entry is only a reminder: when it
comes due, its owner is asked whether that dial is still waiting (``expired(token)``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)

#: the loop may run a timer up to its clock resolution early; entries this close count as due
SLACK = 0.001


class Dialling(Protocol):
    def expired(self, token: int) -> None: ...


class Deadlines:
    __slots__ = ("_at", "_handle", "_loop", "_queues", "_time")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._time = loop.time
        self._queues: dict[float, deque[tuple[float, Dialling, int]]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0

    def add(self, timeout: float, owner: Dialling, token: int) -> None:
        """Call ``owner.expired(token)`` about ``timeout`` seconds from now."""
        when = self._time() + timeout
        queue = self._queues.get(timeout)
        if queue is None:
            queue = self._queues[timeout] = deque()
        queue.append((when, owner, token))
        if self._handle is None:
            self._arm(when)
        elif when < self._at:  # a shorter timeout than the armed one (rare: retries use longer ones)
            self._handle.cancel()
            self._arm(when)

    def _arm(self, when: float) -> None:
        self._at = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        now = self._time() + SLACK
        due: list[tuple[float, Dialling, int]] = []
        for queue in self._queues.values():
            while queue and queue[0][0] <= now:
                due.append(queue.popleft())
        for _, owner, token in due:
            try:
                owner.expired(token)  # may add new deadlines
            except Exception:
                log.exception("dial timeout handler failed")
        heads = [q[0][0] for q in self._queues.values() if q]
        if heads:
            first = min(heads)
            if self._handle is None or first < self._at:
                if self._handle is not None:
                    self._handle.cancel()
                self._arm(first)

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._queues.clear()
