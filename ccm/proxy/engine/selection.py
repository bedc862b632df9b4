"""Endpoint choice: kube-proxy userspace round robin with ClientIP affinity.

The candidate list is shuffled once per change of the backend set and walked in order;
affinity is a dict keyed by client IP holding ``[backend, last_used]`` with a sliding
timeout (an entry is reused while ``int(now - last_used) < ttl``). The clock is injectable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from ccm.proxy.engine.config import Backend


class Selector:
    __slots__ = ("_affinity", "_backends", "_clock", "_index", "_rng", "ttl")

    def __init__(self, backends: tuple[Backend, ...], affinity_timeout: int | None = None, *,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._affinity: dict[str, list] = {}
        self._backends: list[Backend] = []
        self._index = 0
        self.ttl = affinity_timeout
        self.update(backends, affinity_timeout)

    @property
    def backends(self) -> tuple[Backend, ...]:
        return tuple(self._backends)

    def update(self, backends: tuple[Backend, ...], affinity_timeout: int | None) -> set[Backend]:
        """Swap the candidate set; return the backends that went away."""
        removed = set(self._backends) - set(backends)
        if set(backends) != set(self._backends):
            new = list(dict.fromkeys(backends))
            self._rng.shuffle(new)
            self._backends = new
            self._index = 0
        if affinity_timeout != self.ttl or not backends:
            self._affinity.clear()
        elif removed:
            self._affinity = {ip: e for ip, e in self._affinity.items() if e[0] not in removed}
        self.ttl = affinity_timeout
        return removed

    def pick(self, client_ip: str, reset_affinity: bool = False) -> Backend | None:
        """The next backend for this client; ``reset_affinity`` skips (and overwrites) its entry."""
        backends = self._backends
        if not backends:
            return None
        ttl = self.ttl
        if ttl is None:
            i = self._index
            self._index = (i + 1) % len(backends)
            return backends[i]
        now = self._clock()
        if not reset_affinity:
            entry = self._affinity.get(client_ip)
            if entry is not None and int(now - entry[1]) < ttl:
                entry[1] = now
                return entry[0]  # type: ignore[no-any-return]
        i = self._index
        self._index = (i + 1) % len(backends)
        backend = backends[i]
        self._affinity[client_ip] = [backend, now]
        return backend

    def affinity_of(self, client_ip: str) -> Backend | None:
        entry = self._affinity.get(client_ip)
        return None if entry is None else entry[0]  # type: ignore[no-any-return]

    def sweep(self) -> int:
        """Drop expired affinity entries (kube-proxy's CleanupStaleStickySessions); return how many."""
        ttl = self.ttl
        if ttl is None or not self._affinity:
            return 0
        now = self._clock()
        stale = [ip for ip, (_, last) in self._affinity.items() if int(now - last) >= ttl]
        for ip in stale:
            del self._affinity[ip]
        return len(stale)
