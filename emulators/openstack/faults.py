"""Fault injection for the OpenStack emulator, driven in process by tests (or the admin endpoint).

A ``Fault`` picks calls by action id (``fnmatch`` pattern over ``<service>.<collection>.<verb>``,
e.g. ``octavia.loadbalancers.create``, ``neutron.floatingips.*``, ``keystone.tokens.create``) and by
whether they mutate, then does one or more of:
- answer an HTTP error before the call is applied (409 storm, 429 with ``Retry-After``, 5xx);
- apply the call and then answer an error (the client never learns it happened: the crash-safety
  case);
- accept an Octavia mutation but end its job in ``ERROR`` (``provisioning_error``);
- add latency.
``nth`` picks the n-th matching call counted from when the fault was added, ``times`` caps how many
calls it hits (None: no cap), ``probability`` a seeded random share of them.
``applied`` is the hook for faults that depend on the outcome: the emulator asks it once a call
took effect, and an error it returns is answered instead (the answer is lost).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from emulators.faultselect import firing
from emulators.openstack.errors import ApiError

_DEFAULT_MESSAGES = {
    409: "Load Balancer is immutable and cannot be updated.",
    429: "Rate limit exceeded, retry later.",
    500: "Internal server error (injected).",
    502: "Bad gateway (injected).",
    503: "The server is currently unavailable. Please try again at a later time.",
    504: "Gateway timeout (injected).",
}


@dataclass
class Fault:
    actions: str = "*"
    mutating: bool | None = None  #: None: every call; True: creates/updates/deletes only; False: reads only
    status: int | None = None
    after_apply: bool = False
    provisioning_error: bool = False
    latency: float = 0.0
    nth: int | None = None
    after: int | None = None  #: only matching calls after the first ``after`` ones (a crash point)
    times: int | None = None
    probability: float = 1.0
    message: str | None = None
    retry_after: float | None = None
    seen: int = 0
    hits: int = 0

    @property
    def pattern(self) -> str:
        return self.actions

    def error(self) -> ApiError:
        assert self.status is not None
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else {}
        return ApiError(self.message or _DEFAULT_MESSAGES.get(self.status, "Injected failure."),
                        status=self.status, headers=headers)


@dataclass
class Decision:
    """What the emulator does with one call."""

    before: ApiError | None = None
    after: ApiError | None = None
    provisioning_error: bool = False
    latency: float = 0.0


@dataclass
class Faults:
    seed: int = 0
    active: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.active.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.active.clear()
            self._rng = random.Random(self.seed)

    # -- the usual shapes ---------------------------------------------------------------------------

    def fail_nth_mutation(self, n: int, status: int = 503, *, after_apply: bool = False,
                          actions: str = "*") -> Fault:
        """The n-th mutating call from now fails; with ``after_apply`` it is applied first."""
        return self.add(Fault(actions=actions, mutating=True, status=status, after_apply=after_apply, nth=n,
                              times=1))

    def crash_after(self, k: int, *, actions: str = "*") -> Fault:
        """A client that dies after its k-th mutating call from now: every later one fails, unapplied."""
        return self.add(Fault(actions=actions, mutating=True, status=503, after=k,
                              message="injected crash: the client never sent this call"))

    def conflict_storm(self, count: int, *, actions: str = "octavia.*") -> Fault:
        """The next ``count`` Octavia mutations answer 409 as if their load balancer were pending."""
        return self.add(Fault(actions=actions, mutating=True, status=409, times=count))

    def throttle(self, fraction: float, *, status: int = 429, actions: str = "*",
                 retry_after: float | None = 1.0) -> Fault:
        """A seeded share of matching calls answers 429 (or ``status``) with ``Retry-After``."""
        return self.add(Fault(actions=actions, status=status, probability=fraction, retry_after=retry_after))

    def unavailable(self, times: int = 1, *, actions: str = "*") -> Fault:
        return self.add(Fault(actions=actions, status=503, times=times))

    def provisioning_errors(self, times: int = 1, *, actions: str = "octavia.*") -> Fault:
        """The next ``times`` accepted Octavia mutations end their job in ``ERROR``."""
        return self.add(Fault(actions=actions, mutating=True, provisioning_error=True, times=times))

    def delay(self, seconds: float, *, actions: str = "*") -> Fault:
        return self.add(Fault(actions=actions, latency=seconds))

    # ------------------------------------------------------------------------------------------------

    def decide(self, action: str, mutating: bool) -> Decision:
        out = Decision()
        with self._lock:
            for fault in firing(self.active, action, mutating, self._rng):
                out.latency += fault.latency
                out.provisioning_error = out.provisioning_error or fault.provisioning_error
                if fault.status is not None:
                    if fault.after_apply and mutating:
                        out.after = out.after or fault.error()
                    else:
                        out.before = out.before or fault.error()
        return out

    def applied(self, action: str, mutating: bool, status: int) -> ApiError | None:
        """A call was applied and answered ``status``: an error to answer instead (the answer is lost), or None.

        Nothing here; a subclass decides by outcome (a client dying right after its k-th mutating
        call that took effect, say, which ``decide``, before the call, cannot know).
        """
        return None

    @staticmethod
    def wait(decision: Decision) -> None:
        if decision.latency > 0:
            time.sleep(decision.latency)
