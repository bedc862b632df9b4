"""Generated files are current, and the lists they are generated from are complete."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ccm.docgen import metrics
from ccm.docgen.files import generated, orphans, stale

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("item", generated(), ids=lambda g: str(g.path))
def test_generated_file_is_current(item):
    problem = stale(ROOT, item)
    assert problem is None, f"{problem}\nrun `ccm docs --write`"


def test_no_orphaned_policy_files():
    assert orphans(ROOT) == []


def _sources(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts]


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_every_module_declaring_a_metric_is_documented():
    declaring = {_module(p) for p in _sources("ccm", "providers")
                 if re.search(r"^from prometheus_client import .*\b(Counter|Gauge|Histogram|Summary)\b",
                              p.read_text(encoding="utf-8"), re.MULTILINE)}
    assert declaring <= set(metrics.METRIC_MODULES) | set(metrics.COLLECTORS), \
        "add the module to ccm/docgen/metrics.py METRIC_MODULES"


def _strings(node: ast.AST | None, names: dict[str, set[str]]) -> set[str]:
    """The string constants ``node`` can be: a literal, a name assigned literals in the file, either branch."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        return names.get(node.id, set())
    if isinstance(node, ast.IfExp):
        return _strings(node.body, names) | _strings(node.orelse, names)
    return set()


def _reasons_spelled_in(path: Path) -> set[str]:
    """Reasons given as ``reason=``, ``ProviderWarning(reason, ...)`` or ``UserError(message, reason)``, spelled
    as a literal or through a name (a module constant such as ``CREATE_ONLY``, a local ``reason = a if c else b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, set()).update(_strings(node.value, {}))
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = getattr(node.func, "id", getattr(node.func, "attr", ""))
        given = [kw.value for kw in node.keywords if kw.arg == "reason"]
        if callee == "ProviderWarning" and node.args:
            given.append(node.args[0])
        if callee == "UserError" and len(node.args) > 1:
            given.append(node.args[1])
        found |= {s for value in given for s in _strings(value, names) if _REASON.fullmatch(s)}
    return found


_REASON = re.compile(r"[A-Z][a-z]+(?:[A-Z][A-Za-z0-9]*)*")


def test_every_reason_an_adapter_spells_out_is_documented():
    from ccm.controllers.service.events import DOCS
    from providers.reasons import REASONS

    spelled = {r for p in _sources("providers", "ccm") for r in _reasons_spelled_in(p)}
    assert spelled - set(REASONS) - set(DOCS) == set(), "document the reason in providers/reasons.py"
