"""API faults (issue 8's harness): the service controller on the fake cloud survives watch drops,
410 storms, API restarts and restarts that lost their history - no lost update, no re-ensure
storm (provider calls counted), no stale cache. Sizes are small here; bench/reliability.py api
runs the same scenarios bigger and prints the figures in docs/reliability.md."""

from __future__ import annotations

import pytest

from tests.reliability import apifaults


def test_watch_drops() -> None:
    with apifaults.rig(4) as r:
        out = apifaults.watch_drops(r, rounds=6)
    assert (out.lost, out.stale, out.extra_ensures) == (0, 0, 0), out
    assert out.ensures == 6


def test_410_storm_relists_without_re_ensuring() -> None:
    with apifaults.rig(4, watch_history=2) as r:
        out = apifaults.gone_storm(r, rounds=3)
    assert (out.lost, out.stale, out.extra_ensures) == (0, 0, 0), out
    assert out.relists >= 2, out  # the resume points did expire


def test_restart_keeping_state_re_ensures_nothing() -> None:
    with apifaults.rig(4) as r:
        out = apifaults.restart_keeping_state(r, rounds=2)
    assert (out.lost, out.stale, out.ensures) == (0, 0, 1), out


@pytest.mark.parametrize("forward", [False, True], ids=["backwards", "forward-jump"])
def test_restart_losing_history(forward: bool) -> None:
    with apifaults.rig(4) as r:
        out = apifaults.restart_losing_history(r, forward=forward, changed=1)
    assert (out.lost, out.stale, out.extra_ensures) == (0, 0, 0), out
    assert out.ensures == 1
    if not forward:
        assert out.too_large_relists >= 1, out
