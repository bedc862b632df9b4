"""Active HTTP health checks of nodes, the way cloud-provider-kind's Envoy does them.

A forwarding load balancer must stop sending to a node before clients notice, so
every (node address, port, path) some Service depends on is probed on an interval:
``healthCheckNodePort`` for externalTrafficPolicy Local (only nodes with a ready
local endpoint pass), the node proxy's ``/healthz`` for Cluster (a draining or
stuck proxy fails). A new target counts as unhealthy until its first probe passes,
so no traffic goes to a node nobody has looked at; a healthy target needs
``unhealthy_threshold`` consecutive failures to drop out (one lost probe is noise).
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Target:
    ip: str
    port: int
    path: str = "/healthz"

    def __str__(self) -> str:
        return f"http://{self.ip}:{self.port}{self.path}"


Probe = Callable[[Target, float], bool]


def http_probe(target: Target, timeout: float) -> bool:
    """Pass on HTTP 200, like Envoy's default expected_statuses; anything else fails."""
    conn = http.client.HTTPConnection(target.ip, target.port, timeout=timeout)
    try:
        conn.request("GET", target.path, headers={"User-Agent": "ccm-local-lb"})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


@dataclasses.dataclass(slots=True)
class _State:
    healthy: bool = False
    passes: int = 0
    failures: int = 0
    due: float = 0.0  # monotonic time of the next probe; 0 means now


class HealthMonitor:
    """Probes the union of every owner's targets; reports flips through ``on_change``.

    ``on_change`` runs on the monitor's thread with no monitor lock held, so it may
    call back into :meth:`is_healthy` and take the caller's own locks.
    """

    def __init__(
        self,
        on_change: Callable[[frozenset[Target]], None],
        *,
        interval: float = 1.0,
        timeout: float = 1.0,
        unhealthy_threshold: int = 2,
        healthy_threshold: int = 1,
        probe: Probe = http_probe,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_change = on_change
        self.interval = interval
        self.timeout = timeout
        self.unhealthy_threshold = unhealthy_threshold
        self.healthy_threshold = healthy_threshold
        self._probe = probe
        self._clock = clock
        self._lock = threading.Lock()
        self._owners: dict[str, frozenset[Target]] = {}
        self._states: dict[Target, _State] = {}
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="local-lb-health")

    # -- registration -------------------------------------------------------------------

    def set_targets(self, owner: str, targets: Iterable[Target]) -> None:
        """Make ``targets`` the set ``owner`` depends on; new ones are probed at once."""
        wanted = frozenset(targets)
        with self._lock:
            if self._owners.get(owner) == wanted:
                return
            if wanted:
                self._owners[owner] = wanted
            else:
                self._owners.pop(owner, None)
            new = False
            for t in wanted:
                if t not in self._states:
                    self._states[t] = _State()
                    new = True
            used = set().union(*self._owners.values()) if self._owners else set()
            for t in list(self._states):
                if t not in used:
                    del self._states[t]
        if new:
            self._wake.set()

    def remove_owner(self, owner: str) -> None:
        self.set_targets(owner, ())

    def is_healthy(self, target: Target) -> bool:
        with self._lock:
            state = self._states.get(target)
            return bool(state and state.healthy)

    # -- probing ------------------------------------------------------------------------

    def run_due(self) -> float:
        """Probe every due target once (concurrently); return seconds until the next is due."""
        now = self._clock()
        with self._lock:
            due = [t for t, s in self._states.items() if s.due <= now]
        results = dict(zip(due, self._pool.map(lambda t: self._probe(t, self.timeout), due), strict=True))
        changed: set[Target] = set()
        with self._lock:
            after = self._clock()
            for target, ok in results.items():
                state = self._states.get(target)
                if state is None:  # dropped while probing
                    continue
                state.due = after + self.interval
                if self._record(target, state, ok):
                    changed.add(target)
            next_due = min((s.due for s in self._states.values()), default=after + self.interval)
        if changed:
            self._on_change(frozenset(changed))
        return max(0.0, next_due - self._clock())

    def _record(self, target: Target, state: _State, ok: bool) -> bool:
        if ok:
            state.passes, state.failures = state.passes + 1, 0
            if not state.healthy and state.passes >= self.healthy_threshold:
                state.healthy = True
                log.info("health check %s passes: node in service", target)
                return True
        else:
            state.passes, state.failures = 0, state.failures + 1
            if state.healthy and state.failures >= self.unhealthy_threshold:
                state.healthy = False
                log.warning("health check %s failed %d times: node taken out", target, state.failures)
                return True
        return False

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                delay = self.run_due()
            except Exception:
                log.exception("health check round failed")
                delay = self.interval
            self._wake.wait(delay)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="local-lb-health", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)  # no probe outlives us (each is bounded by timeout)
