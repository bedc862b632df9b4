"""``metadata.managedFields`` <-> managers and their field sets.

One entry per manager, operation (``Apply``/``Update``), API version (Update only: an applier
is one manager whatever version it applies in) and subresource, as upstream keys them.
Entries are written in upstream's order: Apply before Update, then by time, manager, version
and subresource.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from ccm.apiserver import timefmt
from ccm.apiserver.errors import APIError
from ccm.apiserver.ssa.fieldpath import FieldSet

APPLY = "Apply"
UPDATE = "Update"

Ident = tuple[str, str, str, str]


@dataclasses.dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: FieldSet

    @property
    def ident(self) -> Ident:
        return ident(self.manager, self.operation, self.api_version, self.subresource)

    @property
    def applied(self) -> bool:
        return self.operation == APPLY

    def describe(self) -> str:
        """How a conflict names this manager: ``"kubectl"``, ``"x" using v1``, ``... with subresource``."""
        out = f'"{self.manager}"'
        if self.subresource:
            out += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            out += f" using {self.api_version}"
        return out

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.operation, self.time or "", self.manager, self.api_version, self.subresource)


def ident(manager: str, operation: str, api_version: str, subresource: str | None) -> Ident:
    return (manager, operation, "" if operation == APPLY else api_version, subresource or "")


Managed = dict[Ident, Entry]


def is_reset(raw: Any) -> bool:
    """``managedFields: []`` or ``[{}]`` in a request clears them (upstream's reset)."""
    return isinstance(raw, list) and (not raw or raw == [{}])


def decode(raw: Any) -> Managed:
    """Parse managedFields; ValueError on an entry that is not one.

    Every write decodes the stored entries again; the parse of a given list is remembered
    (the result is a fresh dict of fresh entries: callers change them).
    """
    if raw is None:
        return {}
    try:
        key = json.dumps(raw, separators=(",", ":"))
    except (TypeError, ValueError):
        raise ValueError("managedFields must be JSON") from None
    return {k: dataclasses.replace(e) for k, e in _decode(key).items()}


@functools.lru_cache(maxsize=256)
def _decode(doc: str) -> Managed:
    raw = json.loads(doc)
    out: Managed = {}
    if not isinstance(raw, list):
        raise ValueError("managedFields must be a list")
    for i, e in enumerate(raw):
        if not isinstance(e, dict):
            raise ValueError(f"managedFields[{i}] must be an object")
        op = e.get("operation")
        if op not in (APPLY, UPDATE):
            raise ValueError(f"managedFields[{i}]: operation must be Apply or Update, got {op!r}")
        if e.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ValueError(f"managedFields[{i}]: fieldsType must be FieldsV1")
        fields = FieldSet.from_fields_v1(e.get("fieldsV1") or {})
        entry = Entry(str(e.get("manager") or ""), op, str(e.get("apiVersion") or ""),
                      str(e.get("subresource") or ""), _time(e.get("time")), fields)
        if entry.ident in out:  # repeated entries: their sets together
            out[entry.ident].fields = out[entry.ident].fields.union(fields)
        else:
            out[entry.ident] = entry
    return out


def _time(value: Any) -> str | None:
    """A metav1.Time in its canonical form (clients send offsets; the server writes UTC with Z)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("time must be a string")
    try:
        return timefmt.parse(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    except APIError as exc:
        raise ValueError(exc.message) from None


def encode(managed: Managed) -> list[dict[str, Any]]:
    """The managedFields list (entries with empty sets are dropped)."""
    out = []
    for e in sorted(managed.values(), key=Entry.sort_key):
        if e.fields.empty():
            continue
        doc: dict[str, Any] = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time:
            doc["time"] = e.time
        doc["fieldsType"] = "FieldsV1"
        doc["fieldsV1"] = e.fields.to_fields_v1()
        if e.subresource:
            doc["subresource"] = e.subresource
        out.append(doc)
    return out
