"""Leader election: one leader at a time, takeover after expiry, release on stop.

Hand-over scenarios run against the embedded API server through RawClient and against an
in-memory Lease API with resourceVersion conflicts; the long "nothing must happen" windows
run on the in-memory API only. Durations are short (a lease of 1.5 s) and every wait is a
condition with a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ccm.kube.leaderelection import LeaderElector, default_identity
from ccm.kube.resources import LEASES
from tests.kube.fakes import FakeObjectAPI, Partitionable
from tests.util import wait_for

# Short enough for a quick suite, long enough that a loaded 2-core machine does not starve a
# healthy leader's renewals (which would rightly look like a lost lease).
LEASE = 1.5
RENEW = 1.0
RETRY = 0.15
TAKEOVER_BOUND = LEASE + 2 * RETRY * 2.2 + 1.0  # expiry + one jittered acquire round + slack


class Timeline:
    """Start/stop callbacks of every elector, checked for overlapping leadership."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[float, str, str]] = []
        self.leading: set[str] = set()
        self.overlaps: list[tuple[str, set[str]]] = []

    def started(self, who: str) -> None:
        with self.lock:
            if self.leading:
                self.overlaps.append((who, set(self.leading)))
            self.leading.add(who)
            self.entries.append((time.monotonic(), "start", who))

    def stopped(self, who: str) -> None:
        with self.lock:
            self.leading.discard(who)
            self.entries.append((time.monotonic(), "stop", who))

    def when(self, kind: str, who: str) -> float | None:
        with self.lock:
            return next((t for t, k, w in self.entries if k == kind and w == who), None)


@pytest.fixture(params=["fake", "apiserver"])
def lease_client(request) -> Any:
    if request.param == "fake":
        return FakeObjectAPI()
    from ccm.kube.client import RawClient

    api_client = request.getfixturevalue("api_client")
    return RawClient(api_client, timeout=5.0)


@pytest.fixture
def make(lease_client) -> Iterator[Callable[..., tuple[LeaderElector, Partitionable]]]:
    yield from _maker(lease_client)


def _maker(lease_client: Any) -> Iterator[Callable[..., tuple[LeaderElector, Partitionable]]]:
    timeline = Timeline()
    electors: list[LeaderElector] = []

    def make(who: str, **kwargs: Any) -> tuple[LeaderElector, Partitionable]:
        client = Partitionable(lease_client)
        elector = LeaderElector(
            client, "kube-system", "ccm", who, lease_duration=LEASE, renew_deadline=RENEW,
            retry_period=RETRY, on_started_leading=lambda stop: timeline.started(who),
            on_stopped_leading=lambda: timeline.stopped(who), **kwargs)
        electors.append(elector)
        return elector, client

    make.timeline = timeline  # type: ignore[attr-defined]
    yield make
    for elector in electors:
        elector.stop(release=False)
    assert timeline.overlaps == [], f"two leaders at once: {timeline.overlaps}"


def lease(client: Any) -> dict[str, Any]:
    return client.get(LEASES.item_path("kube-system", "ccm"))


def test_first_candidate_creates_the_lease_and_leads(make, lease_client):
    leaders: list[str] = []
    a, _ = make("a", on_new_leader=leaders.append)
    a.start()
    wait_for(a.is_leader, timeout=5)
    spec = lease(lease_client)["spec"]
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 0
    assert spec["renewTime"].endswith("Z") and "." in spec["renewTime"]
    assert leaders == ["a"]
    first_renew = spec["renewTime"]
    wait_for(lambda: lease(lease_client)["spec"]["renewTime"] != first_renew, timeout=5)
    assert lease(lease_client)["spec"]["acquireTime"] == spec["acquireTime"]


@pytest.fixture
def make_fake() -> Iterator[Callable[..., tuple[LeaderElector, Partitionable]]]:
    yield from _maker(FakeObjectAPI())


def test_second_candidate_waits_while_the_leader_renews(make_fake):
    make = make_fake
    a, _ = make("a")
    a.start()
    wait_for(a.is_leader, timeout=5)
    leaders: list[str] = []
    b, _ = make("b", on_new_leader=leaders.append)
    b.start()
    wait_for(lambda: leaders == ["a"], timeout=5)
    # Well past a lease duration, b still follows because a keeps renewing.
    deadline = time.monotonic() + 1.5 * LEASE
    wait_for(lambda: time.monotonic() > deadline or b.is_leader(), timeout=5)
    assert not b.is_leader() and a.is_leader()


def leader_and_follower(make):
    """``a`` leads and ``b`` campaigns, having seen ``a`` as the holder; returns (a, a's network, b)."""
    a, a_net = make("a")
    a.start()
    wait_for(a.is_leader, timeout=5)
    b, _ = make("b")
    b.start()
    wait_for(lambda: b.get_leader() == "a", timeout=5)
    return a, a_net, b


def test_takeover_after_the_leader_stops_renewing(make, lease_client):
    a, _, b = leader_and_follower(make)
    a.stop(release=False)  # a crash: the lease is left to expire
    stopped = time.monotonic()
    assert not a.is_leader()
    wait_for(b.is_leader, timeout=5)
    assert time.monotonic() - stopped <= TAKEOVER_BOUND
    spec = lease(lease_client)["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1


def test_partitioned_leader_steps_down_before_the_other_takes_over(make):
    a, a_net, b = leader_and_follower(make)
    a_net.partitioned = True
    wait_for(b.is_leader, timeout=5)
    timeline = make.timeline
    b_start = wait_for(lambda: timeline.when("start", "b"), timeout=5)
    a_stop = timeline.when("stop", "a")
    assert a_stop is not None and a_stop < b_start
    assert not a.is_leader()


def test_release_on_stop_hands_over_at_once(make, lease_client):
    a, _, b = leader_and_follower(make)
    a.stop()  # release_on_cancel=True by default
    spec = lease(lease_client)["spec"]
    assert spec["holderIdentity"] in ("", "b")
    released = time.monotonic()
    wait_for(b.is_leader, timeout=5)
    assert time.monotonic() - released < LEASE  # no waiting for expiry
    assert lease(lease_client)["spec"]["leaseTransitions"] == 1


def test_lost_update_race_yields_one_leader(make_fake):
    make = make_fake
    electors = [make(name)[0] for name in "abcd"]
    for elector in electors:
        elector.start()
    wait_for(lambda: any(e.is_leader() for e in electors), timeout=5)
    deadline = time.monotonic() + 1.2 * LEASE
    wait_for(lambda: time.monotonic() > deadline, timeout=5)
    assert sum(e.is_leader() for e in electors) == 1


def test_leading_callback_gets_an_event_set_on_loss():
    api = FakeObjectAPI()
    got: list[threading.Event] = []
    stopped = threading.Event()
    elector = LeaderElector(api, "ns", "l", "me", lease_duration=LEASE, renew_deadline=RENEW,
                            retry_period=RETRY, on_started_leading=got.append,
                            on_stopped_leading=stopped.set)
    elector.start()
    wait_for(lambda: got, timeout=5)
    assert not got[0].is_set()
    elector.stop()
    assert got[0].is_set() and stopped.is_set()
    assert api.get(LEASES.item_path("ns", "l"))["spec"]["holderIdentity"] == ""


def test_validation_and_identity():
    with pytest.raises(ValueError):
        LeaderElector(FakeObjectAPI(), "ns", "l", "me", lease_duration=10, renew_deadline=10,
                      on_started_leading=lambda e: None, on_stopped_leading=lambda: None)
    with pytest.raises(ValueError):
        LeaderElector(FakeObjectAPI(), "ns", "l", "", on_started_leading=lambda e: None,
                      on_stopped_leading=lambda: None)
    first, second = default_identity(), default_identity()
    assert first != second and first.split("_")[0] == second.split("_")[0]
