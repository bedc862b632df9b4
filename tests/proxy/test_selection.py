"""Round robin and ClientIP affinity against an injected clock (no waiting)."""

from __future__ import annotations

import random

from ccm.proxy.engine import Backend
from ccm.proxy.engine.selection import Selector

A, B, C = Backend("10.0.0.1", 80), Backend("10.0.0.2", 80), Backend("10.0.0.3", 80)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_round_robin_is_a_shuffled_rotation() -> None:
    sel = Selector((A, B, C), rng=random.Random(1))
    picks = [sel.pick("1.1.1.1") for _ in range(9)]
    assert picks[:3] == picks[3:6] == picks[6:]
    assert set(picks[:3]) == {A, B, C}


def test_update_with_same_set_keeps_rotation_and_new_set_reshuffles() -> None:
    sel = Selector((A, B, C), rng=random.Random(2))
    first = sel.pick("x")
    sel.update((C, B, A), None)
    assert sel.pick("x") != first  # same set: index kept, rotation goes on
    assert sel.update((A, B), None) == {C}
    assert set(sel.backends) == {A, B}


def test_affinity_is_sliding_and_expires() -> None:
    clock = Clock()
    sel = Selector((A, B, C), affinity_timeout=10, clock=clock)
    mine = sel.pick("1.1.1.1")
    for _ in range(5):
        clock.now += 9.9  # each use refreshes the entry
        assert sel.pick("1.1.1.1") == mine
    other = sel.pick("2.2.2.2")
    assert other != mine
    clock.now += 10.0  # idle for the whole timeout: the entry no longer applies
    assert sel.pick("1.1.1.1") != mine  # a fresh round-robin pick (the third backend)


def test_expired_entries_are_swept() -> None:
    clock = Clock()
    sel = Selector((A, B), affinity_timeout=5, clock=clock)
    sel.pick("1.1.1.1")
    clock.now += 3
    sel.pick("2.2.2.2")
    clock.now += 2.5
    assert sel.sweep() == 1
    assert sel.affinity_of("1.1.1.1") is None and sel.affinity_of("2.2.2.2") is not None


def test_reset_affinity_moves_on_and_overwrites() -> None:
    sel = Selector((A, B, C), affinity_timeout=100, clock=Clock())
    mine = sel.pick("1.1.1.1")
    moved = sel.pick("1.1.1.1", reset_affinity=True)
    assert moved != mine
    assert sel.pick("1.1.1.1") == moved


def test_removed_backend_drops_its_affinity_entries() -> None:
    sel = Selector((A, B), affinity_timeout=100, clock=Clock(), rng=random.Random(0))
    owners = {ip: sel.pick(ip) for ip in ("1.1.1.1", "2.2.2.2")}
    kept = owners["2.2.2.2"]
    assert kept is not None
    sel.update((kept,), 100)
    assert sel.affinity_of("1.1.1.1") is None
    assert sel.affinity_of("2.2.2.2") == kept
    assert sel.pick("1.1.1.1") == kept


def test_no_backends() -> None:
    assert Selector((), affinity_timeout=5).pick("1.1.1.1") is None
