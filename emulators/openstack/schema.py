"""Request bodies as the services check them: known attributes only, types, ranges, defaults.

Octavia (wsme types) and Neutron (the attribute maps of ``neutron-lib``) both reject an attribute
they do not know, a value of the wrong type, a missing mandatory attribute, and (on update) an
attribute that may only be set at creation. A ``Schema`` is one resource's attribute table; each
``Attr`` says when the attribute may be sent and how its value is checked and normalised. The error
wording follows the service (``service="octavia"`` or ``"neutron"``).

Checkers are plain functions ``value -> normalised value`` raising ``ValueError(reason)``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from emulators.openstack.errors import BadRequest

Json = dict[str, Any]
Checker = Callable[[Any], Any]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Attr:
    """One attribute: ``create``/``update`` say when a client may send it."""

    name: str
    check: Checker
    create: bool = True
    update: bool = False
    required: bool = False
    default: Any = UNSET  #: applied on create when absent; a callable is called
    nullable: bool = True  #: ``null`` accepted (wsme: "unset"; Neutron: per attribute)


@dataclass(frozen=True)
class Schema:
    root: str  #: the body's key (``loadbalancer``, ``port``, ...)
    attrs: tuple[Attr, ...]
    service: str = "octavia"

    def names(self, op: str) -> set[str]:
        return {a.name for a in self.attrs if (a.create if op == "create" else a.update)}

    def unwrap(self, body: Any) -> Json:
        """The object under the root key (a missing root key is a bad request in both services)."""
        if not isinstance(body, dict) or not isinstance(body.get(self.root), dict):
            if self.service == "neutron":
                raise BadRequest("Resource body required")
            raise BadRequest(f"Invalid input for field/attribute {self.root}. Value: '{_short(body)}'. "
                             f"Mandatory field missing.")
        return dict(body[self.root])

    def parse(self, obj: Json, op: str) -> Json:
        """Check ``obj`` (already unwrapped) for ``op`` (``create``/``update``); return normalised values.

        On create, defaults fill absent attributes; on update only the sent attributes are returned.
        """
        allowed = {a.name: a for a in self.attrs}
        unknown = sorted(k for k in obj if k not in allowed)
        if unknown:
            raise self._unknown(obj, unknown)
        settable = self.names(op)
        readonly = sorted(k for k in obj if k not in settable)
        if readonly:
            if self.service == "neutron":
                raise BadRequest(f"Cannot update read-only attribute {readonly[0]}")
            raise self._unknown(obj, readonly)
        out: Json = {}
        for attr in self.attrs:
            if attr.name in obj:
                value = obj[attr.name]
                if value is None:
                    if not attr.nullable:
                        raise self._invalid(attr.name, value, "Value may not be null")
                    out[attr.name] = None
                    continue
                try:
                    out[attr.name] = attr.check(value)
                except ValueError as exc:
                    raise self._invalid(attr.name, value, str(exc)) from None
            elif op == "create":
                if attr.required:
                    raise self._missing(attr.name)
                if attr.default is not UNSET:
                    out[attr.name] = attr.default() if callable(attr.default) else attr.default
        return out

    # -- service wording ------------------------------------------------------------------------

    def _unknown(self, obj: Json, names: list[str]) -> BadRequest:
        if self.service == "neutron":
            return BadRequest("Unrecognized attribute(s) '" + ", ".join(names) + "'")
        return BadRequest(f"Invalid input for field/attribute {self.root}. Value: '{_short(obj)}'. "
                          f"Unknown attribute for argument {self.root}: {', '.join(names)}")

    def _invalid(self, name: str, value: Any, reason: str) -> BadRequest:
        if self.service == "neutron":
            return BadRequest(f"Invalid input for {name}. Reason: {reason}.")
        return BadRequest(f"Invalid input for field/attribute {name}. Value: '{_short(value)}'. {reason}")

    def _missing(self, name: str) -> BadRequest:
        if self.service == "neutron":
            return BadRequest(f"Failed to parse request. Required attribute '{name}' not specified")
        return BadRequest(f"Invalid input for field/attribute {name}. Value: 'None'. Mandatory field missing.")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:197] + "..."


# -- checkers ----------------------------------------------------------------------------------------

def string(max_len: int = 255) -> Checker:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError("Value should be a string")
        if len(v) > max_len:
            raise ValueError(f"Value should have a maximum character requirement of {max_len}")
        return v
    return check


def boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ValueError("Value should be a boolean")


def integer(minimum: int | None = None, maximum: int | None = None) -> Checker:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise ValueError("Value should be an integer")
        try:
            n = int(v)
        except ValueError:
            raise ValueError("Value should be an integer") from None
        if minimum is not None and n < minimum:
            raise ValueError(f"Value should be greater or equal to {minimum}")
        if maximum is not None and n > maximum:
            raise ValueError(f"Value should be lower or equal to {maximum}")
        return n
    return check


def enum(*values: str) -> Checker:
    def check(v: Any) -> str:
        if v not in values:
            raise ValueError(f"Value should be one of: {', '.join(values)}")
        return str(v)
    return check


def uuid_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("Value should be UUID format")
    try:
        uuid.UUID(v)
    except ValueError:
        raise ValueError("Value should be UUID format") from None
    return v


def ip_address(v: Any) -> str:
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        raise ValueError(f"'{v}' is not a valid IP address") from None


def cidr(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"'{v}' is not a valid CIDR")
    try:
        return str(ipaddress.ip_network(v, strict=False))
    except ValueError:
        raise ValueError(f"'{v}' is not a valid CIDR") from None


def list_of(item: Checker) -> Checker:
    def check(v: Any) -> list[Any]:
        if not isinstance(v, list):
            raise ValueError("Value should be a list")
        return [item(x) for x in v]
    return check


def dict_of_str(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise ValueError("Value should be a dictionary of strings")
    return dict(v)


def obj(*attrs: Attr, name: str = "object") -> Checker:
    """A nested object with its own attributes (session persistence, fixed IPs, ...)."""
    sub = Schema(name, attrs)

    def check(v: Any) -> Json:
        if not isinstance(v, dict):
            raise ValueError("Value should be an object")
        return sub.parse(v, "create")
    return check


def anything(v: Any) -> Any:
    return v


def tags(v: Any) -> list[str]:
    out = list_of(string(255))(v)
    return list(dict.fromkeys(out))


def pattern(regex: str, what: str) -> Checker:
    compiled = re.compile(regex)

    def check(v: Any) -> str:
        if not isinstance(v, str) or not compiled.fullmatch(v):
            raise ValueError(f"Value should be {what}")
        return v
    return check


def common(*names: str, pool: Iterable[Attr]) -> tuple[Attr, ...]:
    """Pick attributes by name from a shared table (keeps create/update tables in one place)."""
    by_name = {a.name: a for a in pool}
    return tuple(by_name[n] for n in names)
