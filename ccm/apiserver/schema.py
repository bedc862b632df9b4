"""Decoding rules taken from the official client's models: field types and unknown fields.

kube-apiserver decodes bodies into typed Go structs, so a value of the wrong JSON type is a
400 before anything else runs, and fields it does not know are dropped (``fieldValidation``
``Ignore``), dropped with a ``Warning`` header (``Warn``, the default) or rejected with a 400
(``Strict``, what kubectl sends). The field tree comes from the ``kubernetes`` client's
generated models, which mirror the API's Go types; it is built once per kind.
"""

from __future__ import annotations

import datetime
import functools
import types
import typing
from typing import Any

from kubernetes.client import models

from ccm.apiserver.errors import bad_request

#: a model: json name -> child schema; ("list"|"map", child); ("leaf", python type);
#: ("intstr",) for IntOrString; None for free-form values (kept as they are)
Schema = dict[str, Any] | tuple[Any, ...] | None

_JSON_TYPE = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
_GO_TYPE = {str: "string", int: "int32", float: "float64", bool: "bool"}


def _is_model(t: Any) -> bool:
    """The generated models are pydantic classes; duck-typed so pydantic stays the client's business."""
    return isinstance(t, type) and hasattr(t, "model_fields")


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated down to the underlying type (a union of several is returned as is)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return tuple(_unwrap(a) for a in args)
            annotation = args[0]
        else:
            return annotation


@functools.cache
def _model_schema(model: type) -> dict[str, Any]:
    return {info.serialization_alias or name: ("lazy", info.annotation)
            for name, info in model.model_fields.items()}  # type: ignore[attr-defined]


def _node(annotation: Any) -> Schema:
    t = _unwrap(annotation)
    if isinstance(t, tuple):
        return ("intstr",) if set(t) == {int, str} else None
    origin = typing.get_origin(t)
    if origin in (list, typing.List):  # noqa: UP006 - the generated models use typing.List
        return ("list", _node(typing.get_args(t)[0]))
    if origin in (dict, typing.Dict):  # noqa: UP006
        return ("map", _node(typing.get_args(t)[1]))
    if _is_model(t):
        return _model_schema(t)
    if t in (datetime.datetime, datetime.date):
        return ("leaf", str)
    if t in (str, int, bool, float):
        return ("leaf", t)
    return None


def _type_ok(value: Any, want: type) -> bool:
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if want is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, want)


class _Check:
    """One walk over a decoded body: drops unknown fields, notes wrong types."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.unknown: list[str] = []
        self.type_error: str | None = None

    def wrong_type(self, value: Any, path: str, go_type: str) -> None:
        if self.type_error is None:
            json_type = _JSON_TYPE.get(type(value), "value")
            self.type_error = (f"json: cannot unmarshal {json_type} into Go struct field {self.kind}.{path} "
                               f"of type {go_type}")

    def walk(self, obj: Any, node: Schema, path: str) -> None:
        if node is None or obj is None:
            return
        if isinstance(node, tuple):
            tag = node[0]
            if tag == "leaf":
                if not _type_ok(obj, node[1]):
                    self.wrong_type(obj, path, _GO_TYPE.get(node[1], "string"))
            elif tag == "intstr":
                if not (isinstance(obj, str) or _type_ok(obj, int)):
                    self.wrong_type(obj, path, "intstr.IntOrString")
            elif tag == "list":
                if not isinstance(obj, list):
                    self.wrong_type(obj, path, "[]")
                    return
                for i, item in enumerate(obj):
                    self.walk(item, node[1], f"{path}[{i}]")
            elif tag == "map":
                if not isinstance(obj, dict):
                    self.wrong_type(obj, path, "map[string]")
                    return
                for k, v in obj.items():
                    self.walk(v, node[1], f"{path}[{k}]")
            return
        if not isinstance(obj, dict):
            self.wrong_type(obj, path, "struct")
            return
        for key in list(obj):
            sub = f"{path}.{key}" if path else key
            if key not in node:
                del obj[key]
                self.unknown.append(sub)
                continue
            entry = node[key]
            if isinstance(entry, tuple) and entry[0] == "lazy":
                entry = node[key] = _node(entry[1])
            self.walk(obj[key], entry, sub)


@functools.cache
def schema_for(model_name: str) -> Schema:
    model = getattr(models, model_name, None)
    return _model_schema(model) if _is_model(model) else None


def check_fields(obj: dict[str, Any], model_name: str, mode: str | None, kind: str = "",
                 duplicates: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Decode-time checks on a body (in place); returns warnings for the response.

    A value of the wrong type is a 400 whatever ``mode`` says, as Go's decoder fails on it.
    ``duplicates`` are the body's repeated keys (the decoder kept the last): like unknown
    fields, an error under Strict and a warning under Warn.
    """
    mode = mode or "Warn"
    if mode not in ("Ignore", "Warn", "Strict"):
        raise bad_request(f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", "Strict", '
                          f'"Warn"')
    check = _Check(kind or model_name)
    check.walk(obj, schema_for(model_name), "")
    if check.type_error:
        raise bad_request(f'{kind or model_name} in version "{obj.get("apiVersion", "")}" cannot be handled as a '
                          f"{kind or model_name}: {check.type_error}")
    problems = [f'unknown field "{u}"' for u in check.unknown] + [f'duplicate field "{d}"' for d in duplicates]
    if not problems:
        return []
    if mode == "Strict":
        raise bad_request("strict decoding error: " + ", ".join(problems))
    return [] if mode == "Ignore" else problems
