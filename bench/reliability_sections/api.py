"""The service controller against API faults: watch drops, 410 storms, restarts that lose history.

Runs the scenarios of tests/reliability/apifaults.py at a larger size - the service
controller on the fake cloud, against the embedded API server while it drops watches,
expires resume points (410), restarts, and restarts having lost its history (revisions going
backwards or jumping forward) - and prints one Markdown row per scenario: ensure calls
against real changes (a re-ensure storm shows as extra ensures), lost updates, stale cache
entries, and how the informer recovered. The figures go to docs/reliability.md.

Usage: ``.venv/bin/python bench/reliability.py api [--services 50] [--rounds 20]``
"""

from __future__ import annotations

import argparse
import logging

from tests.reliability import apifaults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    n, rounds = args.services, args.rounds
    outcomes = []
    with apifaults.rig(n) as r:
        outcomes.append(apifaults.watch_drops(r, rounds))
    with apifaults.rig(n, watch_history=2) as r:
        outcomes.append(apifaults.gone_storm(r, max(1, rounds // 3)))
    with apifaults.rig(n) as r:
        outcomes.append(apifaults.restart_keeping_state(r, max(1, rounds // 4)))
    for forward in (False, True):
        with apifaults.rig(n) as r:
            outcomes.append(apifaults.restart_losing_history(r, forward=forward, changed=max(1, n // 10)))
    print("## api: the service controller against API faults\n")
    print(apifaults.HEADER)
    for out in outcomes:
        print(out.row())
    bad = [o for o in outcomes if o.lost or o.stale or o.extra_ensures]
    print(f"\n{len(outcomes) - len(bad)}/{len(outcomes)} scenarios with 0 lost updates, 0 stale entries, "
          "0 extra ensures")
    return 1 if bad else 0

