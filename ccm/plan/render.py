"""How ``ccm plan`` prints plans: text for people, JSON for tools (both deterministic)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from ccm.plan.core import Outcome, ServicePlan

#: the keys of ``Operation.to_json()`` the numbered line already shows
_SHOWN = frozenset({"kind", "resource", "description"})
_INDENT = "     "


def _details(op_json: dict[str, Any]) -> list[str]:
    """The rest of an operation's JSON form (the call with its settings and tags), as YAML."""
    rest = {k: v for k, v in op_json.items() if k not in _SHOWN}
    if not rest:
        return []
    text = yaml.safe_dump(rest, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return [_INDENT + line for line in text.rstrip("\n").splitlines()]


def _headline(plan: ServicePlan, provider: str, live: bool) -> str:
    mode = "live" if live else "offline"
    if plan.outcome is Outcome.PLANNED:
        n = len(plan.operations)
        what = "no changes" if n == 0 else f"{n} operation{'s' if n != 1 else ''}"
    else:
        what = str(plan.outcome)
    return f"# {plan.key} ({provider}, {mode}): {what}"


def text(plans: Sequence[ServicePlan], provider: str, live: bool) -> str:
    out: list[str] = []
    for plan in plans:
        if out:
            out.append("")
        out.append(_headline(plan, provider, live))
        out += [f"{e.type}  {e.reason}  {e.message}" for e in plan.events]
        out += [f"note: {n}" for n in plan.notes]
        for i, op in enumerate(plan.operations, 1):
            out.append(f"{i}. {op.describe()}")
            out += _details(op.to_json())
    return "\n".join(out) + "\n"


def as_json(plans: Sequence[ServicePlan], provider: str, live: bool) -> str:
    doc = {"provider": provider, "mode": "live" if live else "offline", "services": [p.to_json() for p in plans]}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
