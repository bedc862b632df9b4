"""Which injected faults fire for one call: the selection the GCE and OpenStack emulators share.

Their faults name calls the same way (an ``fnmatch`` pattern over a dotted call id, and whether the
call mutates) and pick among matching calls the same way: ``nth`` (the n-th from when the fault
was added, 1-based), ``after`` (only those after the first ``after``: a crash point), ``times``
(a cap; None: no cap), ``probability`` (a seeded share). What a fault then does (which error,
before or after applying, a failed operation, latency) stays with each emulator. ARM's faults
match by HTTP method and path instead, so the Azure emulator keeps its own.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar


class Selectable(Protocol):
    """The fields a fault needs for :func:`firing` (plain dataclass fields in each emulator)."""

    mutating: bool | None
    nth: int | None
    after: int | None
    times: int | None
    probability: float
    seen: int
    hits: int

    @property
    def pattern(self) -> str: ...


F = TypeVar("F", bound=Selectable)


def firing(faults: Iterable[F], call: str, mutating: bool, rng: random.Random) -> Iterator[F]:
    """The faults that fire for ``call``, in order; counts the call on every fault it matches.

    The caller holds its lock while iterating (the counters and ``rng`` are shared state).
    """
    for fault in faults:
        if fault.mutating is not None and fault.mutating != mutating:
            continue
        if not fnmatch.fnmatchcase(call, fault.pattern):
            continue
        fault.seen += 1
        if fault.nth is not None and fault.seen != fault.nth:
            continue
        if fault.after is not None and fault.seen <= fault.after:
            continue
        if fault.times is not None and fault.hits >= fault.times:
            continue
        if fault.probability < 1.0 and rng.random() >= fault.probability:
            continue
        fault.hits += 1
        yield fault
