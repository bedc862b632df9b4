"""Field-path validation errors, formatted the way apimachinery's ``field.Error`` prints."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

_REASONS = {
    "Required value": "FieldValueRequired",
    "Invalid value": "FieldValueInvalid",
    "Duplicate value": "FieldValueDuplicate",
    "Unsupported value": "FieldValueNotSupported",
    "Forbidden": "FieldValueForbidden",
    "Too long": "FieldValueTooLong",
    "Not found": "FieldValueNotFound",
}

_OMIT = object()


class GoLiteral(str):
    """A value already rendered the way Go prints it (shown without quotes)."""


def go_repr(value: Any) -> str:
    """Render a bad value as Go's ``%#v``-ish output in field errors (``"x"``, ``80``, ``[]string{"a"}``)."""
    if isinstance(value, GoLiteral):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value, separators=(",", ":"), default=str)


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    """One problem at one field path (``spec.ports[0].name``)."""

    kind: str
    field: str
    value: Any = _OMIT
    detail: str = ""

    @property
    def reason(self) -> str:
        return _REASONS.get(self.kind, "FieldValueInvalid")

    def body(self) -> str:
        """The message without the field path (the ``message`` of a Status cause)."""
        text = self.kind
        if self.value is not _OMIT and self.kind not in ("Required value", "Forbidden", "Too long"):
            text += ": " + go_repr(self.value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def required(field: str, detail: str = "") -> FieldError:
    return FieldError("Required value", field, detail=detail)


def invalid(field: str, value: Any, detail: str = "") -> FieldError:
    return FieldError("Invalid value", field, value, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError("Duplicate value", field, value)


def not_supported(field: str, value: Any, supported: list[str]) -> FieldError:
    return FieldError("Unsupported value", field, value,
                      "supported values: " + ", ".join(json.dumps(s) for s in supported))


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError("Forbidden", field, detail=detail)


def too_long(field: str, limit: int) -> FieldError:
    return FieldError("Too long", field, detail=f"may not be more than {limit} bytes")
