"""Walks over an object and its :mod:`schema`: field sets, comparison, merge, removal.

These are structured-merge-diff's operations on typed values, with its rules:

* a scalar, an atomic list/map/struct, or a list/map empty on both sides is a leaf;
* a granular map or struct descends key by key; a keyed or set list descends item by item,
  each item known by its path element (``k:{...}``/``v:...``), not its position;
* :func:`to_field_set` is what a configuration *claims*: leaves, list items (as wholes and
  field by field) and map keys, but not the structs on the way down;
* :func:`compare` is what changed: a granular node that appears or disappears is itself
  added or removed, besides its contents;
* :func:`merge` lays a configuration over an object (the configuration wins at leaves; keyed
  list items merge in place, new ones where the configuration puts them).

Absent values are :data:`MISSING`; ``None`` is JSON null.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ccm.apiserver.patch import json_equal
from ccm.apiserver.ssa import fieldpath as fp
from ccm.apiserver.ssa.fieldpath import FieldSet, Path, PathElement
from ccm.apiserver.ssa.schema import List, Map, Type, Untyped


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class SchemaError(ValueError):
    """A configuration that does not fit the kind's schema (the message names the field)."""


def _type_name(v: Any) -> str:
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "list"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    return "number" if isinstance(v, int | float) else "null"


def item_element(t: List, i: int, item: Any) -> PathElement:
    """The path element of a list item; SchemaError when the item cannot be one."""
    if t.type.kind == "set":
        if isinstance(item, dict | list):
            raise SchemaError(f"element {i}: expected scalar, got {_type_name(item)}")
        return fp.value(item)
    if t.type.kind == "map":
        if not isinstance(item, dict):
            raise SchemaError(f"element {i}: associative list with keys may not have non-map elements")
        defaults = dict(t.type.defaults)
        keys: dict[str, Any] = {}
        for k in t.type.keys:
            if k in item and item[k] is not None:
                keys[k] = item[k]
            elif k in defaults:
                keys[k] = defaults[k]
            else:
                raise SchemaError(f"element {i}: associative list with keys has an element that omits key "
                                  f"field {k!r} (and doesn't have default value)")
            if isinstance(keys[k], dict | list):
                raise SchemaError(f"element {i}: key field {k!r} must be a scalar")
        return fp.key(keys)
    return fp.index(i)


def _items(t: List, value: Any) -> list[tuple[PathElement, Any]]:
    """(element, item) for each item, first occurrence of a repeated element only."""
    out: list[tuple[PathElement, Any]] = []
    seen: set[PathElement] = set()
    for i, item in enumerate(value if isinstance(value, list) else ()):
        try:
            pe = item_element(t, i, item)
        except SchemaError:
            continue
        if pe not in seen:
            seen.add(pe)
            out.append((pe, item))
    return out


def child_type(t: Type, pe: PathElement) -> Type | None:
    if isinstance(t, Map):
        return t.field_type(pe[2:]) if pe[0] == "f" else None
    if isinstance(t, List):
        return t.elem if pe[0] in "kvi" else None
    return None


# ------------------------------------------------------------------ validation


def validate(value: Any, t: Type, path: str = "") -> None:
    """Check a configuration against the schema: SchemaError("<.path>: <problem>") on the first problem.

    Unknown fields, wrong shapes, list items without their keys and repeated keys are errors
    (upstream refuses them in an applied configuration whatever ``fieldValidation`` says).
    """
    if value is None or isinstance(t, Untyped):
        return
    if isinstance(t, Map):
        if not isinstance(value, dict):
            raise SchemaError(f"{path or '.'}: expected map, got {_type_name(value)}")
        for k, v in value.items():
            sub = f"{path}.{k}"
            ct = t.field_type(k)
            if ct is None:
                raise SchemaError(f"{sub}: field not declared in schema")
            validate(v, ct, sub)
    elif isinstance(t, List):
        if not isinstance(value, list):
            raise SchemaError(f"{path}: expected list, got {_type_name(value)}")
        seen: set[PathElement] = set()
        for i, item in enumerate(value):
            try:
                pe = item_element(t, i, item)
            except SchemaError as exc:
                raise SchemaError(f"{path}: {exc}") from None
            if pe in seen and not t.atomic:
                raise SchemaError(f"{path}: duplicate entries for key {fp.element_string(pe)}")
            seen.add(pe)
            validate(item, t.elem, f"{path}{fp.element_string(pe)}")
    elif isinstance(value, dict | list):
        raise SchemaError(f"{path}: expected scalar, got {_type_name(value)}")


# ------------------------------------------------------------------ field sets


def _is_leaf(t: Type | None) -> bool:
    return t is None or not isinstance(t, Map | List) or t.atomic


def to_field_set(value: Any, t: Type) -> FieldSet:
    """The fields ``value`` sets (what an applied configuration claims)."""
    out = FieldSet()
    _to_set(value, t, (), out)
    return out


def _to_set(value: Any, t: Type | None, path: Path, out: FieldSet) -> None:
    if _is_leaf(t) or value is None:
        if path:
            out.insert(path)
        return
    if isinstance(t, List):
        for pe, item in _items(t, value):
            sub = (*path, pe)
            _to_set(item, t.elem, sub, out)
            out.insert(sub)
        return
    assert isinstance(t, Map)
    if not isinstance(value, dict):
        return
    for k, v in value.items():
        sub = (*path, fp.field(k))
        ct = t.field_type(k)
        _to_set(v, ct, sub, out)
        if v is None or v == {} or not t.has_field(k):
            out.insert(sub)


def ensure_named_fields_are_members(s: FieldSet, t: Type | None) -> FieldSet:
    """``s`` plus the struct fields it passes through (``a.b.c`` also owns ``a``, if ``a`` is a field)."""
    out = FieldSet()
    out.members = set(s.members)
    for pe, c in s.children.items():
        if pe[0] == "f" and isinstance(t, Map) and t.has_field(pe[2:]):
            out.members.add(pe)
        out.children[pe] = ensure_named_fields_are_members(c, child_type(t, pe) if t is not None else None)
    return out


# ------------------------------------------------------------------ comparison


@dataclasses.dataclass
class Comparison:
    added: FieldSet = dataclasses.field(default_factory=FieldSet)
    modified: FieldSet = dataclasses.field(default_factory=FieldSet)
    removed: FieldSet = dataclasses.field(default_factory=FieldSet)

    def exclude(self, fields: FieldSet | None) -> Comparison:
        if fields is None or fields.empty():
            return self
        return Comparison(self.added.recursive_difference(fields), self.modified.recursive_difference(fields),
                          self.removed.recursive_difference(fields))

    def changed(self) -> FieldSet:
        return self.modified.union(self.added)

    def same(self) -> bool:
        return self.added.empty() and self.modified.empty() and self.removed.empty()


def compare(lhs: Any, rhs: Any, t: Type) -> Comparison:
    """What changed from ``lhs`` to ``rhs``."""
    out = Comparison()
    _compare(lhs, rhs, t, (), out)
    return out


def _empty(v: Any) -> bool:
    return v is MISSING or v is None or (isinstance(v, dict | list) and not v)


def _compare(lhs: Any, rhs: Any, t: Type | None, path: Path, out: Comparison) -> None:
    if lhs is rhs or (isinstance(lhs, dict | list) and lhs == rhs):
        return  # the common case on a write: most of the object is untouched
    leaf = _is_leaf(t) or (_empty(lhs) and _empty(rhs))
    if not leaf and isinstance(t, List) and isinstance(lhs, list | _Missing) and isinstance(rhs, list | _Missing):
        left = dict(_items(t, lhs))
        right = _items(t, rhs)
        for pe, item in right:
            _compare(left.get(pe, MISSING), item, t.elem, (*path, pe), out)
        seen = {pe for pe, _ in right}
        for pe, item in left.items():
            if pe not in seen:
                _compare(item, MISSING, t.elem, (*path, pe), out)
    elif not leaf and isinstance(t, Map) and isinstance(lhs, dict | _Missing) and isinstance(rhs, dict | _Missing):
        left = lhs if isinstance(lhs, dict) else {}
        right_map = rhs if isinstance(rhs, dict) else {}
        for k in {**left, **right_map}:
            _compare(left.get(k, MISSING), right_map.get(k, MISSING), t.field_type(k), (*path, fp.field(k)), out)
    else:
        if path:
            if lhs is MISSING:
                out.added.insert(path)
            elif rhs is MISSING:
                out.removed.insert(path)
            elif not json_equal(lhs, rhs):
                out.modified.insert(path)
        return
    if path:
        if lhs is MISSING:
            out.added.insert(path)
        elif rhs is MISSING:
            out.removed.insert(path)


# ------------------------------------------------------------------ merge


def merge(lhs: Any, rhs: Any, t: Type) -> Any:
    """``rhs`` (a configuration) laid over ``lhs`` (an object)."""
    return _merge(lhs, rhs, t)


def _merge(lhs: Any, rhs: Any, t: Type | None) -> Any:
    if _is_leaf(t) or (_empty(lhs) and _empty(rhs)):
        return rhs if rhs is not MISSING else lhs
    if isinstance(t, List) and isinstance(lhs, list | _Missing) and isinstance(rhs, list | _Missing):
        return _merge_list(lhs if isinstance(lhs, list) else [], rhs if isinstance(rhs, list) else [], t)
    if isinstance(t, Map) and isinstance(lhs, dict | _Missing) and isinstance(rhs, dict | _Missing):
        left = lhs if isinstance(lhs, dict) else {}
        right = rhs if isinstance(rhs, dict) else {}
        out = {}
        for k in {**left, **right}:
            v = _merge(left.get(k, MISSING), right.get(k, MISSING), t.field_type(k))
            if v is not MISSING:
                out[k] = v
        return out
    return rhs if rhs is not MISSING else lhs


def _merge_list(lhs: list[Any], rhs: list[Any], t: List) -> list[Any]:
    """Items of both, merged by element, in upstream's order: the configuration's order for its
    items; an object item it does not mention stays where it was relative to the items both
    have. A repeated element in the object is kept as it is unless the configuration names it,
    which leaves one merged item."""
    right = _items(t, rhs)
    right_map = dict(right)
    left: list[tuple[Any, Any]] = []  # (element, item); items without an element keep a unique marker
    left_map: dict[PathElement, Any] = {}
    for i, item in enumerate(lhs):
        try:
            pe: Any = item_element(t, i, item)
        except SchemaError:
            pe = object()
        if isinstance(pe, str):
            if pe in left_map and pe in right_map:
                continue
            left_map.setdefault(pe, item)
        left.append((pe, item))
    shared = [pe for pe, _ in right if pe in left_map]
    next_shared = shared.pop(0) if shared else None
    out: list[Any] = []
    li = ri = 0
    while li < len(left) or ri < len(right):
        progress = (li, ri)
        if li < len(left) and ri < len(right):
            pe = left[li][0]
            if pe == right[ri][0]:
                out.append(_merge(left_map[pe], right[ri][1], t.elem))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in right_map and next_shared is not None and next_shared != pe:
                li += 1  # shared, but not this round's: it is merged when the configuration reaches it
                continue
        if li < len(left) and left[li][0] not in right_map:
            out.append(left[li][1])
            li += 1
            continue
        if ri < len(right):
            pe = right[ri][0]
            out.append(_merge(left_map.get(pe, MISSING), right[ri][1], t.elem))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
        if (li, ri) == progress:
            li += 1  # a shared object item whose configuration item is already placed
    return out


# ------------------------------------------------------------------ removal


def remove_items(value: Any, s: FieldSet, t: Type) -> Any:
    """``value`` without the fields and items ``s`` owns (a granular node emptied this way goes too)."""
    return _remove(value, s, t)


def _remove(value: Any, s: FieldSet, t: Type | None) -> Any:
    if _is_leaf(t) or _empty(value):
        return value
    if isinstance(t, List) and isinstance(value, list):
        out_list = []
        for i, item in enumerate(value):
            try:
                pe = item_element(t, i, item)
            except SchemaError:
                out_list.append(item)
                continue
            if pe in s.members:
                continue
            sub = s.children.get(pe)
            kept = _remove(item, sub, t.elem) if sub is not None and not sub.empty() else item
            if kept is not MISSING:
                out_list.append(kept)
        return out_list if out_list else MISSING
    if isinstance(t, Map) and isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            pe = fp.field(k)
            if pe in s.members:
                continue
            sub = s.children.get(pe)
            kept = _remove(v, sub, t.field_type(k)) if sub is not None and not sub.empty() else v
            if kept is not MISSING:
                out[k] = kept
        return out if out else MISSING
    return value


def strip_nulls(value: Any) -> Any:
    """Drop null map values (Go's decoder leaves such fields unset)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value
