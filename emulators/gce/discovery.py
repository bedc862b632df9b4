"""Validation against the compute v1 discovery document that google-api-python-client ships.

The document gives, per method id, the HTTP method, the path, its parameters (with patterns)
and the request/response schemas; ``Validator`` checks a JSON body against a schema the way
the API's JSON parser would: unknown properties are errors, types follow the discovery types
(64-bit integers travel as decimal strings), enums are checked. Tests run it on every request
and response the emulator sees. google-api-python-client is a test dependency, so this module
imports it lazily and the emulator runs without it.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from functools import cache
from typing import Any

DOCUMENT = "discovery_cache/documents/compute.v1.json"


@cache
def document() -> dict[str, Any]:
    path = importlib.resources.files("googleapiclient") / DOCUMENT
    return json.loads(path.read_text(encoding="utf-8"))


def methods() -> dict[str, dict[str, Any]]:
    """Method id -> discovery method entry, for every method in every (nested) resource."""
    out: dict[str, dict[str, Any]] = {}

    def walk(resources: dict[str, Any]) -> None:
        for res in resources.values():
            for m in res.get("methods", {}).values():
                out[m["id"]] = m
            walk(res.get("resources", {}))

    walk(document()["resources"])
    return out


_INT_FORMATS = {"int64", "uint64"}


class Validator:
    """``check_request``/``check_response``/``check_params`` return a list of problems (empty: valid)."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = document()["schemas"]
        self.methods = methods()
        self.standard_params = set(document().get("parameters", {})) | {"$alt", "alt"}

    def check_request(self, method_id: str, body: Any) -> list[str]:
        ref = self.methods[method_id].get("request", {}).get("$ref")
        if ref is None:
            return [] if body in (None, {}) else [f"{method_id} takes no request body"]
        return self._check(body, {"$ref": ref}, "resource")

    def check_response(self, method_id: str, body: Any) -> list[str]:
        ref = self.methods[method_id].get("response", {}).get("$ref")
        if ref is None:
            return []
        return self._check(body, {"$ref": ref}, "response")

    def check_params(self, method_id: str, path_params: dict[str, str], query: dict[str, str]) -> list[str]:
        params = self.methods[method_id].get("parameters", {})
        problems = []
        for name, value in path_params.items():
            spec = params.get(name)
            if spec is None or spec.get("location") != "path":
                problems.append(f"path parameter {name!r} is not a parameter of {method_id}")
            elif spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
                problems.append(f"path parameter {name}={value!r} does not match {spec['pattern']}")
        for name in query:
            if name not in self.standard_params and params.get(name, {}).get("location") != "query":
                problems.append(f"query parameter {name!r} is not a parameter of {method_id}")
        return problems

    def _check(self, value: Any, schema: dict[str, Any], path: str) -> list[str]:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "object":
            if not isinstance(value, dict):
                return [f"{path}: expected an object, got {type(value).__name__}"]
            props, extra = schema.get("properties"), schema.get("additionalProperties")
            problems: list[str] = []
            for key, item in value.items():
                if props is not None and key in props:
                    problems += self._check(item, props[key], f"{path}.{key}")
                elif extra is not None:
                    problems += self._check(item, extra, f"{path}.{key}")
                else:
                    problems.append(f"{path}: unknown property {key!r}")
            return problems
        if kind == "array":
            if not isinstance(value, list):
                return [f"{path}: expected an array, got {type(value).__name__}"]
            return [p for i, item in enumerate(value) for p in self._check(item, schema.get("items", {}), f"{path}[{i}]")]
        if kind == "string":
            if not isinstance(value, str):
                return [f"{path}: expected a string, got {value!r}"]
            if schema.get("format") in _INT_FORMATS and not re.fullmatch(r"-?\d+", value):
                return [f"{path}: expected a decimal {schema['format']} string, got {value!r}"]
            if "enum" in schema and value not in schema["enum"]:
                return [f"{path}: {value!r} not in enum {schema['enum'][:8]}..."]
            return []
        if kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return [] if ok else [f"{path}: expected an integer, got {value!r}"]
        if kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else [f"{path}: expected a number, got {value!r}"]
        if kind == "boolean":
            return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
        if kind == "any" or kind is None:
            return []
        return [f"{path}: unhandled schema type {kind!r}"]
