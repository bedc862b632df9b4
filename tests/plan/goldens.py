"""Golden plans: every example and docs recipe through ``ccm plan``, per provider it names.

Data-driven: a case is a YAML file (``examples/*.yaml``) or a YAML block of ``docs/recipes.md``;
its providers are the ones its Services' annotations are declared for (every planning provider
when it uses none), or those a ``# ccm plan: aws, local`` line names; only providers that are
registered with their package present take part. The golden file is
``tests/plan/golden/<case>.<provider>.txt``: the command's output and its exit status.

After merging a cloud or changing an adapter's plans, regenerate and review the diff:

    .venv/bin/python -m tests.plan.goldens
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ccm.annotations import registry
from ccm.cli import main
from ccm.plan.inputs import of_kind, parse_documents
from providers import registry as providers

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = ROOT / "examples"
RECIPES = ROOT / "docs" / "recipes.md"
_NAMED = re.compile(r"^#\s*ccm plan:\s*(?P<names>[\w, -]+)$", re.MULTILINE)
#: a recipe's YAML block: ```yaml, an id comment on its first line, the manifest
_BLOCK = re.compile(r"^```yaml\n# recipe: (?P<id>[\w-]+)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    text: str
    #: the providers it names (before intersecting with what is registered)
    named: tuple[str, ...]


def planning_providers() -> list[str]:
    """Registered providers whose package is present, test doubles aside."""
    return [n for n in providers.provider_names()
            if n not in providers.TEST_DOUBLES and providers.annotation_support(n) is not None]


def named_providers(text: str) -> tuple[str, ...]:
    """The providers a manifest is for: an explicit ``# ccm plan:`` line, else its annotations' clouds."""
    explicit = _NAMED.search(text)
    if explicit:
        return tuple(sorted(n.strip() for n in explicit["names"].split(",") if n.strip()))
    clouds: set[str] = set()
    for svc in of_kind(parse_documents(text, "case"), "Service"):
        for key in ((svc.get("metadata") or {}).get("annotations") or {}):
            decl = registry.get(key)
            if decl is not None:
                clouds |= decl.providers - {registry.ALL}
    return tuple(sorted(clouds))


def cases() -> list[Case]:
    out = [Case(f"examples/{p.stem}", p.read_text(encoding="utf-8"), ())
           for p in sorted(EXAMPLES.glob("*.yaml"))]
    if RECIPES.exists():
        out += [Case(f"recipes/{m['id']}", m["body"], ()) for m in _BLOCK.finditer(RECIPES.read_text(encoding="utf-8"))]
    return [dataclasses.replace(c, named=named_providers(c.text)) for c in out]


def pairs() -> Iterator[tuple[Case, str]]:
    """(case, provider) for every registered provider the case names (every one when it names none)."""
    available = planning_providers()
    for case in cases():
        for provider in (case.named or available):
            if provider in available:
                yield case, provider


def golden_path(case: Case, provider: str) -> Path:
    return GOLDEN / f"{case.id}.{provider}.txt"


def run_plan(case: Case, provider: str, *extra: str) -> tuple[int, str, str]:
    """``ccm plan -f <case> --provider <provider>`` in process: (exit status, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "service.yaml"
        path.write_text(case.text, encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["plan", "-f", str(path), "--provider", provider, *extra])
    return status, out.getvalue(), err.getvalue()


def rendered(case: Case, provider: str) -> str:
    """What the golden file holds."""
    status, out, err = run_plan(case, provider)
    return out + (f"(stderr)\n{err}" if err else "") + f"(exit status {status})\n"


def update() -> list[Path]:
    """Rewrite every golden file and remove those no case produces any more."""
    written = []
    for case, provider in pairs():
        path = golden_path(case, provider)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered(case, provider), encoding="utf-8")
        written.append(path)
    for stale in set(GOLDEN.rglob("*.txt")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    files = update()
    print(f"wrote {len(files)} golden plans under {GOLDEN.relative_to(ROOT)}", file=sys.stderr)
