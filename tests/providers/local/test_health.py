"""Health-check thresholds, driven by an injected probe and clock (no network, no sleeps)."""

from __future__ import annotations

from providers.local.health import HealthMonitor, Target

A = Target("127.0.1.1", 10256)
B = Target("127.0.1.2", 10256)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(results: dict[Target, bool], flips: list[frozenset[Target]], clock: Clock) -> HealthMonitor:
    return HealthMonitor(flips.append, interval=1.0, unhealthy_threshold=2, healthy_threshold=1,
                         probe=lambda t, _timeout: results[t], clock=clock)


def test_new_targets_are_unhealthy_until_first_pass() -> None:
    clock, flips = Clock(), list[frozenset[Target]]()
    results = {A: True, B: False}
    mon = make(results, flips, clock)
    mon.set_targets("svc", [A, B])
    assert not mon.is_healthy(A) and not mon.is_healthy(B)
    assert mon.run_due() == 1.0
    assert mon.is_healthy(A) and not mon.is_healthy(B)
    assert flips == [frozenset({A})]


def test_two_failures_take_a_node_out_one_pass_brings_it_back() -> None:
    clock, flips = Clock(), list[frozenset[Target]]()
    results = {A: True}
    mon = make(results, flips, clock)
    mon.set_targets("svc", [A])
    mon.run_due()
    results[A] = False
    clock.now += 1
    mon.run_due()
    assert mon.is_healthy(A), "one failure is noise"
    clock.now += 1
    mon.run_due()
    assert not mon.is_healthy(A)
    results[A] = True
    clock.now += 1
    mon.run_due()
    assert mon.is_healthy(A)
    assert flips == [frozenset({A})] * 3


def test_not_due_targets_are_not_probed_and_unused_targets_are_forgotten() -> None:
    clock, flips = Clock(), list[frozenset[Target]]()
    probed: list[Target] = []

    def probe(t: Target, _timeout: float) -> bool:
        probed.append(t)
        return True

    mon = HealthMonitor(flips.append, interval=1.0, probe=probe, clock=clock)
    mon.set_targets("one", [A])
    mon.set_targets("two", [A, B])
    mon.run_due()
    assert sorted(probed) == [A, B]
    clock.now += 0.5
    assert mon.run_due() == 0.5
    assert len(probed) == 2
    mon.remove_owner("two")
    assert not mon.is_healthy(B), "B is no longer watched by anyone"
    assert mon.is_healthy(A)
    mon.remove_owner("one")
    assert not mon.is_healthy(A)
    mon.stop()
