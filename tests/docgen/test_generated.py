"""Generated files are current, and the lists they are generated from are complete."""

from __future__ import annotations

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


_LITERAL_REASON = re.compile(r"""(?:reason=|ProviderWarning\(\s*)["']([A-Z][A-Za-z]+)["']""")


def test_every_reason_an_adapter_spells_out_is_documented():
    from ccm.controllers.service.events import DOCS
    from providers.reasons import REASONS

    spelled = {m for p in _sources("providers", "ccm") for m in _LITERAL_REASON.findall(p.read_text(encoding="utf-8"))}
    assert spelled - set(REASONS) - set(DOCS) == set(), "document the reason in providers/reasons.py"
