"""ClusterIP and NodePort allocators (pkg/registry/core/service/ipallocator and portallocator).

Allocation is transactional: a :class:`Transaction` records what a request took so a failed
or dry-run request gives everything back, and releases are applied only on commit.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable


class AllocationError(Exception):
    """The requested value is taken, out of range, or the range is full."""


class IPAllocator:
    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._used: set[int] = set()
        base = int(self.network.network_address)
        # network and broadcast addresses are never handed out (IPv4), as upstream
        self._first = base + 1
        self._last = int(self.network.broadcast_address) - (1 if self.network.version == 4 else 0)
        self._rand = random.Random()

    @property
    def family(self) -> str:
        return "IPv4" if self.network.version == 4 else "IPv6"

    def allocate(self, ip: str) -> None:
        addr = ipaddress.ip_address(ip)
        n = int(addr)
        if addr.version != self.network.version or not self._first <= n <= self._last:
            raise AllocationError(f"the provided IP ({ip}) is not in the valid range. "
                                  f"The range of valid IPs is {self.network}")
        if n in self._used:
            raise AllocationError("provided IP is already allocated")
        self._used.add(n)

    def allocate_next(self) -> str:
        size = self._last - self._first + 1
        if len(self._used) >= size:
            raise AllocationError("range is full")
        start = self._rand.randrange(size)
        for i in range(size):
            n = self._first + (start + i) % size
            if n not in self._used:
                self._used.add(n)
                return str(ipaddress.ip_address(n))
        raise AllocationError("range is full")

    def release(self, ip: str) -> None:
        try:
            self._used.discard(int(ipaddress.ip_address(ip)))
        except ValueError:
            pass

    def has(self, ip: str) -> bool:
        try:
            return int(ipaddress.ip_address(ip)) in self._used
        except ValueError:
            return False


class PortAllocator:
    def __init__(self, first: int = 30000, last: int = 32767) -> None:
        self.first, self.last = first, last
        self._used: set[int] = set()
        self._rand = random.Random()

    def allocate(self, port: int) -> None:
        if not self.first <= port <= self.last:
            raise AllocationError(f"provided port is not in the valid range. The range of valid ports is "
                                  f"{self.first}-{self.last}")
        if port in self._used:
            raise AllocationError("provided port is already allocated")
        self._used.add(port)

    def allocate_next(self) -> int:
        size = self.last - self.first + 1
        if len(self._used) >= size:
            raise AllocationError("range is full")
        start = self._rand.randrange(size)
        for i in range(size):
            p = self.first + (start + i) % size
            if p not in self._used:
                self._used.add(p)
                return p
        raise AllocationError("range is full")

    def release(self, port: int) -> None:
        self._used.discard(port)

    def has(self, port: int) -> bool:
        return port in self._used


class Transaction:
    """Undo log for one request's allocations, plus releases deferred to commit."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self._on_commit: list[Callable[[], None]] = []

    def took(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def release_on_commit(self, release: Callable[[], None]) -> None:
        self._on_commit.append(release)

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        """A request that fails while allocating or validating gives back everything it took."""
        if exc_type is not None:
            self.revert()

    def commit(self) -> None:
        for fn in self._on_commit:
            fn()
        self._undo.clear()
        self._on_commit.clear()

    def revert(self) -> None:
        for fn in reversed(self._undo):
            fn()
        self._undo.clear()
        self._on_commit.clear()
