"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge needs each list's patch strategy; :data:`Schema` maps a dotted field path
(list items do not add a segment) to ``("merge", key)`` for lists merged by a key,
``("merge", None)`` for primitive lists merged as sets, and nothing for atomic lists,
as the ``patchStrategy``/``patchMergeKey`` struct tags in k8s.io/api say.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ccm.apiserver.errors import APIError, bad_request

Schema = Mapping[str, tuple[str, str | None]]

#: list strategies every object shares (ObjectMeta)
META_SCHEMA: dict[str, tuple[str, str | None]] = {
    "metadata.finalizers": ("merge", None),
    "metadata.ownerReferences": ("merge", "uid"),
}

_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ------------------------------------------------------------------ JSON patch (RFC 6902)


def _unpointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise bad_request(f"json: cannot unmarshal {type(path).__name__} into a JSON pointer string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise _json_patch_error(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch_error(message: str) -> APIError:
    """kube-apiserver answers every patch that does not apply with this one generic 422 (no causes)."""
    del message  # the specific reason is not on the wire upstream either
    return APIError(422, "the server rejected our request due to an error in our request", "Invalid", {})


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: unlike Python's ``==``, true is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    """The value at ``parts`` (JSON-pointer tokens of ``path``), or the "missing value" error."""
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise _json_patch_error(f"doc is missing path: \"{path}\": missing value")
    return cur


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    if not parts:
        raise _json_patch_error(f"unable to remove or replace the whole document at \"{path}\"")
    return _walk(doc, parts[:-1], path), parts[-1]


def _get(doc: Any, path: str) -> Any:
    return _walk(doc, _unpointer(path), path)


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _unpointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _json_patch_error(f"add operation does not apply: doc is missing path: \"{path}\"")
    else:
        raise _json_patch_error(f"doc is missing path: \"{path}\"")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _unpointer(path)
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise _json_patch_error(f"remove operation does not apply: doc is missing path: \"{path}\"")
    return doc


def json_patch(doc: Any, ops: Any, *, in_place: bool = False) -> Any:
    """Apply an RFC 6902 operation list to ``doc`` (to a copy unless ``in_place``)."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if not in_place:
        doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request(f"json: cannot unmarshal {type(op).__name__} into Go value of type jsonpatch.Operation")
        if "op" not in op:
            raise _json_patch_error("Unexpected kind: missing op")  # found on apply, as upstream
        kind, path = op["op"], op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _remove(doc, path) if _unpointer(path) else doc
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, value)
        elif kind == "test":
            if not json_equal(_get(doc, path), op.get("value")):
                raise _json_patch_error(f"testing value {path} failed: test failed")
        else:
            raise _json_patch_error(f"Unexpected kind: {kind}")
    return doc


# ------------------------------------------------------------------ strategic merge patch


def strategic_merge_patch(original: Mapping[str, Any], patch: Any, schema: Schema, *,
                          in_place: bool = False) -> dict[str, Any]:
    """Apply a strategic merge patch with the directives client-go and kubectl send.

    ``original`` is left alone unless ``in_place`` (the caller owns a fresh copy).
    """
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    target = dict(original) if in_place else copy.deepcopy(dict(original))
    merged = _merge_map(target, patch, "", schema)
    return merged if merged is not None else {}


def _strategy(schema: Schema, path: str) -> tuple[str, str | None] | None:
    return schema.get(path) or META_SCHEMA.get(path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge_map(original: dict[str, Any], patch: Mapping[str, Any], path: str, schema: Schema) -> dict[str, Any] | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"}, path, schema)
    if directive is not None:
        raise bad_request(f"Unknown patch type: {directive} in map: {dict(patch)}")
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER):]] = value if isinstance(value, list) else []
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if isinstance(original.get(field), list) and isinstance(value, list):
                original[field] = [v for v in original[field] if v not in value]
            continue
        sub = _join(path, key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict) and isinstance(original.get(key), dict):
            merged = _merge_map(original[key], value, sub, schema)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list) and isinstance(original.get(key), list):
            original[key] = _merge_list(original[key], value, sub, schema)
        else:
            stripped = _strip(value, sub, schema)
            if stripped is None:
                original.pop(key, None)
            else:
                original[key] = stripped
    for field, order in orders.items():
        if isinstance(original.get(field), list):
            strategy = _strategy(schema, _join(path, field))
            original[field] = _apply_order(original[field], order, strategy[1] if strategy else None)
    return original


def _strip(value: Any, path: str, schema: Schema) -> Any:
    """A patch value with no original to merge into: drop directives, keep the data."""
    if isinstance(value, dict):
        if value.get("$patch") == "delete":
            return None
        return _merge_map({}, value, path, schema)
    if isinstance(value, list):
        return _merge_list([], value, path, schema)
    return value


def _merge_list(original: list[Any], patch: list[Any], path: str, schema: Schema) -> list[Any]:
    strategy = _strategy(schema, path)
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_strip(p, path, schema) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    if strategy is None or strategy[0] != "merge":
        return [s for s in (_strip(p, path, schema) for p in patch) if s is not None]
    key = strategy[1]
    if key is None:
        result = list(original)
        for p in patch:
            if p not in result:
                result.append(p)
        return result
    result = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"the list at {path} is merged by key {key!r}: every item must be an object")
        if key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        idx = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [o for o in result if not (isinstance(o, dict) and o.get(key) == item[key])]
        elif idx is None:
            stripped = _strip(item, path, schema)
            if stripped is not None:
                result.append(stripped)
        else:
            merged = _merge_map(result[idx], item, path, schema)
            if merged is None:
                del result[idx]
            else:
                result[idx] = merged
    return result


def _apply_order(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """``$setElementOrder``: listed items take that order; the others keep their slots."""
    def ident(item: Any) -> Any:
        return item.get(key) if key is not None and isinstance(item, dict) else item

    rank = {repr(ident(o) if isinstance(o, dict) else o): i for i, o in enumerate(order)}
    listed = [it for it in items if repr(ident(it)) in rank]
    listed.sort(key=lambda it: rank[repr(ident(it))])
    out, taken = [], iter(listed)
    for it in items:
        out.append(next(taken) if repr(ident(it)) in rank else it)
    return out
