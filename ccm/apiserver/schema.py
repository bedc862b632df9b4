"""Unknown-field handling (``fieldValidation``), with field sets taken from the official client.

kube-apiserver decodes bodies into typed structs, so fields it does not know are dropped
(``Ignore``), dropped with a ``Warning`` header (``Warn``, the default) or rejected with a
400 (``Strict``, what kubectl sends). The field tree comes from the ``kubernetes`` client's
generated models, which mirror the API's Go types; it is built once per kind.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from kubernetes.client import models

from ccm.apiserver.errors import bad_request

#: json name -> child schema; None = a scalar or free-form value (kept as is)
Node = dict[str, Any] | tuple[str, Any] | None

_LEAVES = (str, int, float, bool, bytes, object)


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated down to the underlying type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return None  # IntOrString and similar unions: a scalar
            annotation = args[0]
        else:
            return annotation


def _is_model(t: Any) -> bool:
    """The generated models are pydantic classes; duck-typed so pydantic stays the client's business."""
    return isinstance(t, type) and hasattr(t, "model_fields")


@functools.cache
def _model_schema(model: type) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        fields[info.serialization_alias or name] = ("lazy", info.annotation)
    return fields


def _node(annotation: Any) -> Node:
    t = _unwrap(annotation)
    origin = typing.get_origin(t)
    if origin in (list, typing.List):  # noqa: UP006 - the generated models use typing.List
        return ("list", _node(typing.get_args(t)[0]))
    if origin in (dict, typing.Dict):  # noqa: UP006
        return ("map", _node(typing.get_args(t)[1]))
    if _is_model(t):
        return _model_schema(t)
    return None


def _resolve(entry: Any) -> Node:
    if isinstance(entry, tuple) and entry[0] == "lazy":
        return _node(entry[1])
    return entry  # type: ignore[no-any-return]


def unknown_fields(obj: Any, node: Node, path: str = "") -> list[str]:
    """Remove fields ``node`` does not know from ``obj`` in place; return their paths."""
    found: list[str] = []
    if node is None:
        return found
    if isinstance(node, tuple):
        kind, child = node
        if kind == "list" and isinstance(obj, list):
            for i, item in enumerate(obj):
                found += unknown_fields(item, child, f"{path}[{i}]")
        elif kind == "map" and isinstance(obj, dict):
            for k, v in obj.items():
                found += unknown_fields(v, child, f"{path}[{k}]")
        return found
    if not isinstance(obj, dict):
        return found
    for key in list(obj):
        entry = node.get(key)
        sub = f"{path}.{key}" if path else key
        if entry is None and key not in node:
            del obj[key]
            found.append(sub)
            continue
        resolved = _resolve(entry)
        node[key] = resolved
        found += unknown_fields(obj[key], resolved, sub)
    return found


@functools.cache
def schema_for(model_name: str) -> Node:
    model = getattr(models, model_name, None)
    if not _is_model(model):
        return None
    return _model_schema(model)


def check_fields(obj: dict[str, Any], model_name: str, mode: str | None) -> list[str]:
    """Apply ``fieldValidation`` to a decoded body; returns warnings for the response."""
    mode = mode or "Warn"
    if mode not in ("Ignore", "Warn", "Strict"):
        raise bad_request(f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", "Strict", '
                          f'"Warn"')
    unknown = unknown_fields(obj, schema_for(model_name))
    if not unknown:
        return []
    if mode == "Strict":
        raise bad_request("strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown))
    return [] if mode == "Ignore" else [f'unknown field "{u}"' for u in unknown]
