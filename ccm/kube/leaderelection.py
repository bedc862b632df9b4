"""Leader election over a coordination.k8s.io/v1 Lease (client-go tools/leaderelection).

Only one replica of a controller may act. Candidates race to write themselves into the
Lease's ``holderIdentity``; the API server's optimistic concurrency (``resourceVersion`` on
update) picks one winner. The leader renews every ``retry_period`` and gives up if it could
not renew for ``renew_deadline``; the others take over once they have seen the Lease
unchanged for ``lease_duration``. Expiry is judged by *when this process last saw the
record change* (its own monotonic clock), never by comparing timestamps written by another
machine, so clock skew between replicas does not matter.

Safety margin: ``renew_deadline < lease_duration``, so a leader that cannot renew stops
acting before anyone else may start. ``on_stopped_leading`` runs (and ``is_leader()`` turns
False) *before* the Lease is released on ``stop``, for the same reason.
"""

from __future__ import annotations

import copy
import datetime
import logging
import random
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from prometheus_client import Gauge

from ccm.kube.client import ApiError, RawClient
from ccm.kube.clock import REAL_CLOCK, Clock
from ccm.kube.resources import LEASES

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2  # upstream's acquire-loop jitter

#: component-base leaderelection metrics: 1 while this process holds the lease called ``name``
MASTER_STATUS = Gauge("leader_election_master_status",
                      "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, "
                      "1 indicates master. 'name' is the string used to identify the lease. Please make sure "
                      "to group by name.", ["name"])


class LeaseClient(Protocol):
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def create(self, path: str, body: Mapping[str, Any],
               params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def update(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


def default_identity() -> str:
    """hostname + "_" + a random suffix, so two replicas on one host never share an identity."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def _micro_time(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaign for, hold and release one Lease; see the module docstring."""

    def __init__(
        self,
        client: LeaseClient,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        on_started_leading: Callable[[threading.Event], None],
        on_stopped_leading: Callable[[], None],
        on_new_leader: Callable[[str], None] | None = None,
        release_on_cancel: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError("renew_deadline must be greater than retry_period*1.2")
        if not identity:
            raise ValueError("leader election requires a non-empty identity")
        if isinstance(client, RawClient):
            # A request must not outlive the renew deadline (client-go cancels it with a context).
            client = RawClient(client.api_client, timeout=min(client.timeout, max(1.0, renew_deadline / 2)))
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.release_on_cancel = release_on_cancel
        self._clock = clock or REAL_CLOCK
        self._path = LEASES.item_path(namespace, name)
        self._key = f"{namespace}/{name}"
        self._stop = threading.Event()
        self._release = release_on_cancel
        self._lock = threading.Lock()
        self._leading = False
        self._observed: dict[str, Any] | None = None  # last Lease object seen or written
        self._observed_time = 0.0  # our monotonic time when the record last changed
        self._reported_leader = ""
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- public API

    def is_leader(self) -> bool:
        with self._lock:
            return self._leading

    def get_leader(self) -> str:
        """The holder this process last observed ("" if none)."""
        with self._lock:
            observed = self._observed
        return (observed or {}).get("spec", {}).get("holderIdentity") or ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, daemon=True, name=f"leader-{self.name}")
        self._thread.start()

    def stop(self, release: bool | None = None, timeout: float = 10.0) -> None:
        """Stop campaigning or leading; ``release=False`` leaves the Lease to expire (as a crash)."""
        if release is not None:
            self._release = release
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self) -> None:
        """Block: acquire, lead until the lease is lost or ``stop``, then hand over."""
        status = MASTER_STATUS.labels(self.name)
        status.set(0)
        if not self._acquire():
            return
        lead_stop = threading.Event()
        with self._lock:
            self._leading = True
        status.set(1)
        log.info("%s: %s became leader", self._key, self.identity)
        threading.Thread(target=self._started, args=(lead_stop,), daemon=True,
                         name=f"leading-{self.name}").start()
        try:
            self._renew()
        finally:
            with self._lock:
                self._leading = False
            status.set(0)
            lead_stop.set()
            log.info("%s: %s stopped leading", self._key, self.identity)
            try:
                self.on_stopped_leading()
            except Exception:
                log.exception("%s: on_stopped_leading failed", self._key)
            if self._stop.is_set() and self._release:
                self._release_lease()

    # ---------------------------------------------------------------- loops

    def _started(self, lead_stop: threading.Event) -> None:
        try:
            self.on_started_leading(lead_stop)
        except Exception:
            log.exception("%s: on_started_leading failed", self._key)

    def _acquire(self) -> bool:
        log.info("%s: %s attempting to acquire the lease", self._key, self.identity)
        while not self._stop.is_set():
            if self._try_acquire_or_renew():
                return True
            delay = self.retry_period * (1.0 + random.random() * JITTER_FACTOR)
            self._clock.wait(self._stop, delay)
        return False

    def _renew(self) -> None:
        while not self._stop.is_set():
            deadline = self._clock.now() + self.renew_deadline
            while True:
                if self._try_acquire_or_renew():
                    break
                if self._stop.is_set():
                    return
                if self._clock.now() >= deadline:
                    log.warning("%s: %s failed to renew the lease within %.1fs", self._key,
                                self.identity, self.renew_deadline)
                    return
                self._clock.wait(self._stop, self.retry_period)
            self._clock.wait(self._stop, self.retry_period)

    # ---------------------------------------------------------------- one round

    def _record(self, previous: Mapping[str, Any] | None, now: datetime.datetime) -> dict[str, Any]:
        stamp = _micro_time(now)
        spec: dict[str, Any] = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, int(self.lease_duration)),
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": 0,
        }
        if previous is not None:
            transitions = int(previous.get("leaseTransitions") or 0)
            if previous.get("holderIdentity") == self.identity and self.is_leader():
                spec["acquireTime"] = previous.get("acquireTime") or stamp
                spec["leaseTransitions"] = transitions
            else:
                spec["leaseTransitions"] = transitions + 1
        return spec

    def _try_acquire_or_renew(self) -> bool:
        now = self._clock.now()
        wall = self._clock.wall()
        try:
            lease = self.client.get(self._path)
        except ApiError as exc:
            if not exc.is_not_found:
                log.warning("%s: error retrieving lease: %s", self._key, exc)
                return False
            body = {"apiVersion": LEASES.api_version, "kind": LEASES.kind,
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._record(None, wall)}
            try:
                created = self.client.create(LEASES.collection_path(self.namespace), body)
            except ApiError as create_exc:
                log.info("%s: error creating lease: %s", self._key, create_exc)
                return False
            self._observe(created, now)
            return True

        spec = lease.get("spec") or {}
        with self._lock:
            observed_spec = (self._observed or {}).get("spec")
        if observed_spec != spec:
            self._observe(lease, now)
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity and self._observed_time + self.lease_duration > now:
            log.debug("%s: lease is held by %s and has not yet expired", self._key, holder)
            return False

        updated = copy.deepcopy(lease)
        updated["spec"] = {**spec, **self._record(spec, wall)}
        try:
            written = self.client.update(self._path, updated)
        except ApiError as exc:
            log.info("%s: failed to update lease: %s", self._key, exc)
            return False
        self._observe(written, now)
        return True

    def _observe(self, lease: dict[str, Any], now: float) -> None:
        with self._lock:
            self._observed = lease
            self._observed_time = now
        holder = (lease.get("spec") or {}).get("holderIdentity") or ""
        if holder and holder != self._reported_leader:
            self._reported_leader = holder
            if holder != self.identity:
                log.info("%s: new leader elected: %s", self._key, holder)
            if self.on_new_leader is not None:
                try:
                    self.on_new_leader(holder)
                except Exception:
                    log.exception("%s: on_new_leader failed", self._key)

    def _release_lease(self) -> None:
        """Hand the Lease over at once instead of making the next leader wait for expiry."""
        try:
            lease = self.client.get(self._path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            stamp = _micro_time(self._clock.wall())
            released = copy.deepcopy(lease)
            released["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                                "acquireTime": stamp, "renewTime": stamp}
            self.client.update(self._path, released)
            log.info("%s: %s released the lease", self._key, self.identity)
        except ApiError as exc:
            log.warning("%s: failed to release the lease: %s", self._key, exc)
