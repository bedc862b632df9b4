"""OpenAPI v3 component schemas for the kinds served, built from the official client's models.

The ``kubernetes`` client's generated models mirror the API's Go types and carry their field
descriptions, so ``kubectl explain`` gets the documentation it would get from a cluster.
Schema names end in the Go type name (``...ServicePort``), which is what explain prints.
"""

from __future__ import annotations

import datetime
import re
import typing
from typing import Any

from kubernetes.client import models

from ccm.apiserver.schema import _is_model, _unwrap

_PREFIX = re.compile(r"^(?:[A-Z][a-z]+)?V\d+(?:(?:alpha|beta)\d+)?")
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_SCALAR = {str: {"type": "string"}, int: {"type": "integer", "format": "int64"}, bool: {"type": "boolean"},
           float: {"type": "number", "format": "double"}}


def type_name(model: type) -> str:
    """``V1ServicePort`` -> ``ServicePort``; ``CoreV1Event`` -> ``Event`` (the Go type's name)."""
    return _PREFIX.sub("", model.__name__) or model.__name__


def schema_name(model: type) -> str:
    return f"io.k8s.ccm.{model.__name__}.{type_name(model)}"


def _property(annotation: Any, components: dict[str, Any], description: str | None) -> dict[str, Any]:
    t = _unwrap(annotation)
    out: dict[str, Any]
    origin = typing.get_origin(t)
    if isinstance(t, tuple):
        out = {}
        if set(t) == {int, str}:
            components.setdefault(_INT_OR_STRING, {"type": "string", "format": "int-or-string",
                                                   "description": "IntOrString is a type that can hold an "
                                                                  "int32 or a string."})
            out = {"allOf": [{"$ref": f"#/components/schemas/{_INT_OR_STRING}"}]}
    elif origin in (list, typing.List):  # noqa: UP006 - the generated models use typing.List
        out = {"type": "array", "items": _property(typing.get_args(t)[0], components, None)}
    elif origin in (dict, typing.Dict):  # noqa: UP006
        out = {"type": "object", "additionalProperties": _property(typing.get_args(t)[1], components, None)}
    elif _is_model(t):
        _add(t, components)
        out = {"allOf": [{"$ref": f"#/components/schemas/{schema_name(t)}"}]}
    elif t in (datetime.datetime, datetime.date):
        out = {"type": "string", "format": "date-time"}
    else:
        out = dict(_SCALAR.get(t, {}))
    if description:
        out["description"] = description
    return out


def _add(model: type, components: dict[str, Any]) -> str:
    name = schema_name(model)
    if name in components:
        return name
    schema: dict[str, Any] = {"type": "object", "description": (model.__doc__ or "").strip().split("\n")[0]}
    components[name] = schema
    props: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():  # type: ignore[attr-defined]
        props[info.serialization_alias or field_name] = _property(info.annotation, components, info.description)
    schema["properties"] = props
    return name


def kind_schemas(kinds: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    """(group, version, kind, model name) -> components.schemas, each kind tagged with its GVK."""
    components: dict[str, Any] = {}
    for group, version, kind, model_name in kinds:
        model = getattr(models, model_name, None)
        if model is None or not _is_model(model):
            continue
        name = _add(model, components)
        components[name]["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return components
