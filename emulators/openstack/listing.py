"""List queries as Octavia and Neutron answer them: attribute filters, tag filters, pages, fields.

Filters apply to the API view of each object (what a GET returns):
- ``attr=value`` keeps objects whose attribute equals the value (booleans compare as ``true``/
  ``false``); a key given several times means any of those values (Neutron);
- ``tags=a,b`` all of the tags, ``tags-any=a,b`` one of them, ``not-tags``/``not-tags-any`` the
  negations (both services);
- Neutron's ``fixed_ips=ip_address=X`` / ``fixed_ips=subnet_id=Y`` match a port's fixed IPs;
- ``limit``/``marker`` page (the answer carries ``<collection>_links`` with ``rel: next``);
  ``fields`` keeps only the named attributes.
Neutron rejects a filter on an attribute it does not have (its ``filter-validation`` extension);
Octavia ignores it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulators.openstack.errors import BadRequest

Json = dict[str, Any]
Query = dict[str, list[str]]

_PAGING = {"limit", "marker", "sort_key", "sort_dir", "page_reverse", "fields"}
_TAG_KEYS = {"tags", "tags-any", "not-tags", "not-tags-any"}


@dataclass(frozen=True)
class Page:
    items: list[Json]
    next_marker: str | None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _tag_filter(row: Json, key: str, values: list[str]) -> bool:
    have = set(row.get("tags") or ())
    for value in values:
        wanted = {t for t in value.split(",") if t}
        ok = {"tags": wanted <= have, "tags-any": bool(wanted & have),
              "not-tags": not wanted <= have, "not-tags-any": not (wanted & have)}[key]
        if not ok:
            return False
    return True


def _fixed_ips_filter(row: Json, values: list[str]) -> bool:
    fixed = row.get("fixed_ips") or []
    for value in values:
        name, _, wanted = value.partition("=")
        if not any(_as_text(ip.get(name)) == wanted for ip in fixed):
            return False
    return True


def select(rows: Iterable[Json], query: Query, *, service: str, strict: bool | None = None) -> Page:
    """Filter, page and trim ``rows`` (API views, in creation order) by ``query``."""
    strict = service == "network" if strict is None else strict
    rows = list(rows)
    filters = {k: v for k, v in query.items() if k not in _PAGING}
    if strict and rows:
        known = set().union(*(r.keys() for r in rows)) | _TAG_KEYS
        bad = sorted(k for k in filters if k not in known)
        if bad:
            raise BadRequest(f"{bad} is invalid attribute for filtering", neutron_type="HTTPBadRequest")
    out = []
    for row in rows:
        keep = True
        for key, values in filters.items():
            if key in _TAG_KEYS:
                keep = _tag_filter(row, key, values)
            elif key == "fixed_ips" and service == "network":
                keep = _fixed_ips_filter(row, values)
            elif key in row:
                keep = _as_text(row[key]).lower() in {v.lower() for v in values} if isinstance(row[key], bool) \
                    else _as_text(row[key]) in values
            if not keep:
                break
        if keep:
            out.append(row)
    next_marker = None
    if "marker" in query:
        ids = [r.get("id") for r in out]
        marker = query["marker"][-1]
        if marker not in ids:
            raise BadRequest(f"Supplied pagination marker '{marker}' is not valid.",
                             neutron_type="HTTPBadRequest")
        out = out[ids.index(marker) + 1:]
    if "limit" in query:
        try:
            limit = int(query["limit"][-1])
        except ValueError:
            raise BadRequest(f"Supplied pagination limit '{query['limit'][-1]}' is not valid.") from None
        if limit > 0 and len(out) > limit:
            out = out[:limit]
            next_marker = str(out[-1].get("id"))
    if "fields" in query:
        wanted = {f for v in query["fields"] for f in v.split(",") if f}
        out = [{k: v for k, v in r.items() if k in wanted} for r in out]
    return Page(out, next_marker)
