"""Every generated file: its path and the function that renders it."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from pathlib import Path

#: lines of diff shown by a failed check: enough to see what changed, short enough for a CI log
DIFF_LINES = 40
CHART_FILES = Path("deploy/helm/ccm/files")


@dataclasses.dataclass(frozen=True)
class Generated:
    path: Path
    render: Callable[[], str]


def _annotations() -> str:
    from ccm.reference import render

    return render()


def _metrics() -> str:
    from ccm.docgen.metrics import render

    return render()


def _operations() -> str:
    from ccm.docgen.operations import render

    return render()


def policy_providers() -> list[str]:
    """Providers the chart ships an admission policy for: every one with an adapter package."""
    from providers import registry

    return [name for name, support in registry.supports().items() if support is not None]


def _policy(provider: str) -> Callable[[], str]:
    def render() -> str:
        from ccm.admission.cli import render as render_policy

        return render_policy(provider)
    return render


def generated() -> list[Generated]:
    return [
        Generated(Path("docs/annotations.md"), _annotations),
        Generated(Path("docs/metrics.md"), _metrics),
        Generated(Path("docs/operations.md"), _operations),
        *(Generated(CHART_FILES / f"admission-policy-{p}.yaml", _policy(p)) for p in policy_providers()),
    ]


def difference(path: Path, rendered: str, shown_as: Path | None = None) -> str | None:
    """None when ``path`` holds exactly ``rendered``, else what differs (a short unified diff)."""
    name = shown_as or path
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{name} does not exist"
    if current == rendered:
        return None
    diff = list(difflib.unified_diff(current.splitlines(), rendered.splitlines(), f"{name} (on disk)",
                                     f"{name} (generated)", lineterm=""))
    return f"{name} is stale\n" + "\n".join(diff[:DIFF_LINES]) + ("\n..." if len(diff) > DIFF_LINES else "")


def stale(root: Path, item: Generated) -> str | None:
    """None when the file holds exactly what renders, else a message with a short diff."""
    return difference(root / item.path, item.render(), item.path)


def orphans(root: Path) -> list[Path]:
    """Shipped policy files no provider generates any more."""
    wanted = {g.path for g in generated()}
    return sorted(p.relative_to(root) for p in (root / CHART_FILES).glob("admission-policy-*.yaml")
                  if p.relative_to(root) not in wanted)
