"""Fault injection, controlled in process by tests (the same knob for every kind of failure).

A :class:`Fault` matches requests by method (``"MUTATING"`` = PUT/PATCH/DELETE) and a path
regex, lets ``skip`` matching requests through, then applies to the next ``times`` ones (or
to a ``probability`` share of them) in one of three ways:

* ``when="before"``: answer the error without touching state (throttling, a 5xx);
* ``when="after"``: apply the request, then answer the error, so the client never learns it
  succeeded (a crash or a lost response right after the k-th mutating call);
* ``when="operation"``: accept the request, and make its long-running operation end
  ``Failed`` with ``code`` (the resource reads ``provisioningState: Failed``).

``delay`` adds latency to matching requests; :attr:`Faults.latency` adds it to every request.
:meth:`Faults.applied` is the hook for faults that depend on the outcome: the wire asks it once a
request was applied (no error), and a fault it returns is answered instead (the answer is lost).
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from typing import Literal

MUTATING_METHODS = frozenset({"PUT", "PATCH", "DELETE", "POST"})


@dataclasses.dataclass
class Fault:
    method: str | None = None
    path: str | None = None
    status: int = 500
    code: str = "InternalServerError"
    message: str = "Injected fault: the server encountered an internal error. Please retry the request."
    retry_after: int | None = None
    when: Literal["before", "after", "operation"] = "before"
    skip: int = 0
    times: int | None = 1
    probability: float = 1.0
    delay: float = 0.0
    #: True when the fault only delays (no error)
    delay_only: bool = False
    #: how many requests this fault has hit so far
    hits: int = 0
    _seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None:
            if self.method.upper() == "MUTATING":
                if method not in MUTATING_METHODS:
                    return False
            elif self.method.upper() != method:
                return False
        return self.path is None or re.search(self.path, path, re.IGNORECASE) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    delay: float = 0.0
    fault: Fault | None = None


class Faults:
    """The active faults of one emulator; thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._rng = random.Random(seed)
        #: seconds added to every request
        self.latency = 0.0

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency = 0.0

    def fail_nth_mutation(self, k: int, *, when: Literal["before", "after", "operation"] = "after",
                          status: int = 500, code: str = "InternalServerError",
                          path: str | None = None) -> Fault:
        """The k-th mutating request from now (1-based) fails; by default after it was applied."""
        return self.add(Fault(method="MUTATING", path=path, skip=k - 1, times=1, when=when,
                              status=status, code=code))

    def throttle(self, fraction: float = 1.0, *, retry_after: int = 1, times: int | None = None,
                 method: str | None = None, path: str | None = None) -> Fault:
        """A share of requests get ARM's 429 with ``Retry-After``."""
        return self.add(Fault(method=method, path=path, status=429, code="TooManyRequests",
                              message="The request is being throttled as the limit has been reached "
                                      "for operation type. Retry after the time given in Retry-After.",
                              retry_after=retry_after, probability=fraction, times=times))

    def fail_operations(self, code: str = "RetryableError", *, times: int | None = 1,
                        path: str | None = None, message: str | None = None) -> Fault:
        """Long-running operations end ``Failed`` with ``code``."""
        return self.add(Fault(method="MUTATING", path=path, when="operation", code=code, times=times,
                              message=message or f"Injected: the operation failed ({code}). Retry later."))

    def slow(self, seconds: float, *, method: str | None = None, path: str | None = None,
             times: int | None = None) -> Fault:
        return self.add(Fault(method=method, path=path, delay=seconds, delay_only=True, times=times))

    def applied(self, method: str, path: str, status: int) -> Fault | None:
        """A request was applied and answered ``status`` (< 400): a fault to answer instead, or None.

        Nothing here; a subclass decides by outcome (a client dying right after its k-th mutating
        request that took effect, say, which a rule matched before the request cannot know).
        """
        return None

    def decide(self, method: str, path: str) -> Decision:
        delay = self.latency
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(method, path):
                    continue
                rule._seen += 1
                if rule._seen <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                delay += rule.delay
                if rule.delay_only:
                    continue
                return Decision(delay, rule)
        return Decision(delay, None)
