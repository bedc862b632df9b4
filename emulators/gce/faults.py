"""Fault injection, controlled from tests in process (or over the admin endpoint).

A ``Fault`` matches calls by method id (``fnmatch`` pattern on ``compute.<resource>.<method>``)
and by mutating/reading, and does one of:
- answer with an HTTP error before the call is applied (429 ``rateLimitExceeded``, 5xx, ...);
- apply the call, then answer with an HTTP error (the response is lost: the client does not know
  the change happened, which is what a crash-safe client must survive);
- let the call be accepted but end its operation in error (``operation_error``);
- add latency.
``nth`` picks the n-th matching call (1-based) from when the fault was added, ``times`` how many
matching calls it hits (None: unlimited), ``probability`` a seeded random fraction of them.
``applied`` is the hook for faults that depend on the outcome: the emulator asks it once a call
took effect, and an error it returns is answered instead (the answer is lost).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from emulators.faultselect import firing
from emulators.gce.errors import GoogleError, OperationError, for_status


@dataclass
class Fault:
    methods: str = "*"
    mutating: bool | None = None  #: None: both; True: only inserts/deletes/updates/...; False: only reads
    status: int | None = None  #: HTTP error status to answer with
    after_apply: bool = False  #: apply the call first, then answer with ``status``
    operation_error: tuple[str, str, int] | None = None  #: (code, message, httpErrorStatusCode)
    latency: float = 0.0
    nth: int | None = None
    after: int | None = None  #: only matching calls after the first ``after`` ones
    times: int | None = None
    probability: float = 1.0
    message: str | None = None
    reason: str | None = None  #: the error's reason instead of the status's usual one
    seen: int = 0
    hits: int = 0

    @property
    def pattern(self) -> str:
        return self.methods


@dataclass
class Decision:
    """What the wire layer does with one call."""

    before: GoogleError | None = None
    after: GoogleError | None = None
    operation_error: OperationError | None = None
    latency: float = 0.0


@dataclass
class Faults:
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self._rng = random.Random(self.seed)

    # shorthands for the common cases -----------------------------------------------------------

    def fail_nth_mutation(self, n: int, status: int = 503, *, after_apply: bool = False,
                          methods: str = "*") -> Fault:
        """The n-th mutating call from now fails (optionally after it was applied)."""
        return self.add(Fault(methods=methods, mutating=True, status=status, after_apply=after_apply, nth=n, times=1))

    def throttle(self, fraction: float, *, methods: str = "*", status: int = 429) -> Fault:
        """A seeded fraction of matching calls answers 429 ``rateLimitExceeded`` (or ``status``)."""
        return self.add(Fault(methods=methods, status=status, probability=fraction))

    def fail_operations(self, methods: str = "*", *, code: str = "INTERNAL_ERROR",
                        message: str = "Injected operation failure", http_status: int = 500,
                        times: int | None = 1) -> Fault:
        return self.add(Fault(methods=methods, mutating=True, operation_error=(code, message, http_status),
                              times=times))

    def delay(self, seconds: float, methods: str = "*") -> Fault:
        return self.add(Fault(methods=methods, latency=seconds))

    # ------------------------------------------------------------------------------------------

    def decide(self, method_id: str, mutating: bool) -> Decision:
        out = Decision()
        with self._lock:
            for f in firing(self.faults, method_id, mutating, self._rng):
                out.latency += f.latency
                if f.status is not None:
                    err = for_status(f.status, f.message)
                    if f.reason:
                        err.reason = f.reason  # type: ignore[misc]
                    if f.after_apply and mutating:
                        out.after = out.after or err
                    else:
                        out.before = out.before or err
                if f.operation_error is not None and out.operation_error is None:
                    out.operation_error = OperationError(*f.operation_error)
        return out

    def applied(self, method_id: str, mutating: bool, status: int) -> GoogleError | None:
        """A call was applied and answered ``status``: an error to answer instead (the answer is lost), or None.

        Nothing here; a subclass decides by outcome (a client dying right after its k-th mutating
        call that took effect, say, which ``decide``, before the call, cannot know).
        """
        return None

    def apply_latency(self, decision: Decision) -> None:
        if decision.latency > 0:
            time.sleep(decision.latency)
