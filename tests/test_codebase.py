"""The tree's own checks, run as tests so `python3 run.py test` covers them in CI.

ruff (lint), mypy (types), import-linter (the dependency contracts in pyproject.toml) and
the generated annotation reference being up to date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_ruff_is_clean() -> None:
    r = _run(str(BIN / "ruff"), "check", "--quiet", ".")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    r = _run(str(BIN / "mypy"), "--no-error-summary")
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_contracts_hold() -> None:
    r = _run(str(BIN / "lint-imports"), "--no-cache")
    assert r.returncode == 0, r.stdout + r.stderr


def test_annotation_docs_are_generated_from_the_registry() -> None:
    r = _run(str(BIN / "ccm"), "annotations", "--check")
    assert r.returncode == 0, r.stdout + r.stderr
