"""Every example and docs recipe through ``ccm plan`` for each provider it names, against golden output.

Regenerate with ``.venv/bin/python -m tests.plan.goldens`` (see ``tests/plan/goldens.py``).
"""

from __future__ import annotations

import pytest

from tests.plan.goldens import (
    GOLDEN,
    Case,
    cases,
    golden_path,
    pairs,
    planning_providers,
    rendered,
)

HINT = "regenerate with `.venv/bin/python -m tests.plan.goldens` and review the diff"


@pytest.mark.parametrize(("case", "provider"), [pytest.param(c, p, id=f"{c.id}-{p}") for c, p in pairs()])
def test_plan_matches_golden(case: Case, provider: str) -> None:
    path = golden_path(case, provider)
    assert path.exists(), f"{path} is missing; {HINT}"
    assert rendered(case, provider) == path.read_text(encoding="utf-8"), f"{path} is stale; {HINT}"


def test_every_golden_file_has_a_case() -> None:
    expected = {golden_path(c, p) for c, p in pairs()}
    assert set(GOLDEN.rglob("*.txt")) <= expected, f"golden files without a case; {HINT}"


def test_every_case_is_planned_by_some_provider() -> None:
    """A case naming only providers that are not here yet would silently test nothing."""
    available = set(planning_providers())
    planned = {c.id for c, _ in pairs()}
    pending = {c.id: c.named for c in cases() if c.id not in planned}
    assert all(set(named) - available for named in pending.values()), pending
    assert {"examples/aws-nlb-service", "examples/hello-service"} <= planned
