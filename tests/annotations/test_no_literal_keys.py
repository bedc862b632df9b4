"""Style rule (anti-pattern 2): only ccm/annotations spells annotation keys; everyone imports them."""

from __future__ import annotations

from pathlib import Path

from ccm.annotations import registry

REPO = Path(__file__).resolve().parents[2]
#: ccm.apiserver validates the legacy source-ranges key like kube-apiserver and may import nothing of ccm
ALLOWED = {REPO / "ccm" / "annotations", REPO / "ccm" / "apiserver"}


def test_no_module_outside_the_registry_hard_codes_a_declared_key():
    keys = [k for a in registry.all_annotations() if a.pattern is None for k in (a.key, *a.aliases)]
    offenders = []
    for root in ("ccm", "providers"):
        for path in sorted((REPO / root).rglob("*.py")):
            if any(path.is_relative_to(allowed) for allowed in ALLOWED):
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(REPO)}: {k}" for k in keys if f'"{k}"' in text or f"'{k}'" in text]
    assert offenders == [], "import the declaration from ccm.annotations instead:\n" + "\n".join(offenders)
