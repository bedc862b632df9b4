"""List semantics: Compute Engine's ``filter`` expressions, ordering by name and page tokens.

Two filter dialects exist and are not mixed in one request: the regular-expression one
(``name eq k8s-.*``, ``(name eq a.*) (description ne .*x)``), where the literal must match the
whole field, and the AIP-160 comparisons (``name = "x"``, ``name != x``, ``labels.k:*``).
Parenthesised expressions are ANDed. Field paths may be dotted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from typing import Any

from emulators.gce.errors import Invalid

_EXPR = re.compile(r"\s*([A-Za-z_][\w.]*)\s*(eq|ne|!=|=|:)\s*(.+?)\s*\Z")


def _field(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _literal(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return shlex.split(text)[0]
    return text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _one(expr: str) -> Callable[[dict[str, Any]], bool]:
    m = _EXPR.match(expr)
    if not m:
        raise Invalid(f"Invalid value for field 'filter': '{expr}'. Invalid list filter expression.")
    path, op, raw = m.group(1), m.group(2), _literal(m.group(3))
    if op in ("eq", "ne"):
        try:
            rx = re.compile(raw + r"\Z")
        except re.error:
            raise Invalid(f"Invalid value for field 'filter': '{expr}'. Invalid regular expression.") from None
        want = op == "eq"
        return lambda obj: bool(rx.match(_text(_field(obj, path)))) == want
    if op == ":":
        if raw == "*":
            return lambda obj: _field(obj, path) is not None
        return lambda obj: raw in _text(_field(obj, path))
    want = op == "="
    return lambda obj: (_text(_field(obj, path)) == raw) == want


def compile_filter(text: str | None) -> Callable[[dict[str, Any]], bool]:
    if not text or not text.strip():
        return lambda obj: True
    text = text.strip()
    parts = re.findall(r"\(([^()]*)\)", text) if text.startswith("(") else [text]
    tests = [_one(p) for p in parts]
    return lambda obj: all(t(obj) for t in tests)


def page(items: Iterable[dict[str, Any]], params: dict[str, str], *, default_max: int = 500,
         ) -> tuple[list[dict[str, Any]], str | None]:
    """Filter, order by name, cut one page; returns (items, nextPageToken)."""
    keep = compile_filter(params.get("filter"))
    chosen = sorted((i for i in items if keep(i)), key=lambda i: str(i.get("name", "")))
    try:
        size = int(params.get("maxResults") or default_max)
        start = int(params.get("pageToken") or 0)
    except ValueError:
        raise Invalid("Invalid value for field 'pageToken' or 'maxResults'.") from None
    if not 0 <= size <= 500:
        raise Invalid(f"Invalid value for field 'maxResults': '{size}'. Must be between 0 and 500.")
    size = size or default_max
    end = start + size
    return chosen[start:end], (str(end) if end < len(chosen) else None)
