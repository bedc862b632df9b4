"""The goroutine patterns every controller here runs: supervised workers, queue drains, periodic loops.

Upstream starts workers with ``wait.Until(worker, time.Second, stop)``: a worker that returns
(or, in Go, panics and is recovered) is started again one second later. :class:`Workers` does the
same for threads and joins them all on stop, so a stopped controller leaves no thread behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from ccm.kube.workqueue import Queue

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Hashable)


class Workers:
    """Threads running until ``stop`` is set; one that dies of an unexpected error restarts after 1 s."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self._threads: list[threading.Thread] = []

    def spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=self._supervise, args=(target, name), name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _supervise(self, target: Callable[[], None], name: str) -> None:
        while not self.stop.is_set():
            try:
                target()
                return
            except Exception:
                log.exception("%s crashed; restarting in 1s", name)
                self.stop.wait(1.0)

    def every(self, period: float, fn: Callable[[], None], name: str, *, immediately: bool = False) -> None:
        """Run ``fn`` every ``period`` seconds (``wait.Until``); an error is logged, the loop goes on."""

        def loop() -> None:
            if immediately:
                self._guarded(fn, name)
            while not self.stop.wait(period):
                self._guarded(fn, name)

        self.spawn(loop, name)

    @staticmethod
    def _guarded(fn: Callable[[], None], name: str) -> None:
        try:
            fn()
        except Exception:
            log.exception("%s failed; next run at the next period", name)

    def __len__(self) -> int:
        """Threads started so far (alive or not)."""
        return len(self._threads)

    def join(self, timeout: float = 10.0) -> None:
        for t in self._threads:
            t.join(timeout)


def drain(queue: Queue[T], process: Callable[[T], None], stop: threading.Event) -> None:
    """A worker loop: one item at a time, always ``done``, until the queue shuts down or ``stop`` is set."""
    while not stop.is_set():
        item, shutdown = queue.get()
        if shutdown or item is None:
            return
        try:
            if stop.is_set():
                return  # prompt stop: what is still queued is re-driven at the next start
            process(item)
        finally:
            queue.done(item)
