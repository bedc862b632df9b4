"""Planned operations: typed, frozen values that say which resource changes and how.

A plan is an ordered tuple of :class:`Operation` values built by pure functions, so it can be
tested without an SDK and printed by ``ccm plan`` (``describe()`` for people, ``to_json()`` for
tools). Each adapter derives its operations from :class:`Operation` (AWS: one SDK call each).
A value that only exists once an earlier operation of the same plan has run (a new security
group's id, a new target group's ARN) is a :class:`Ref` to the name that operation
``produces``; ``providers.adapter.apply`` resolves it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from providers.port import Resource


class Kind(enum.StrEnum):
    """What an operation does to its resource."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclasses.dataclass(frozen=True)
class Ref:
    """A value an earlier operation of the same plan produces (its ``produces`` name), at ``path`` in it."""

    name: str
    path: tuple[str | int, ...] = ()

    def placeholder(self) -> str:
        """How the value reads before it exists: ``<sg>``, ``<lb.LoadBalancerArn>``."""
        return "<" + ".".join((self.name, *map(str, self.path))) + ">"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Operation:
    """One planned mutating call on one resource.

    Subclasses add the fields their cloud call needs; they stay frozen and hold only plain
    data (strings, numbers, tuples, mappings, :class:`Ref`), so plans compare by value.
    """

    kind: Kind
    resource: Resource
    #: the name under which apply publishes this operation's result, for later :class:`Ref`
    produces: str | None = None

    def detail(self) -> str:
        """What changes, in a few words (subclasses override); empty for a plain create/delete."""
        return ""

    def describe(self) -> str:
        detail = self.detail()
        return f"{self.kind} {self.resource}" + (f": {detail}" if detail else "")

    def payload(self) -> Mapping[str, Any]:
        """The cloud-specific part of :meth:`to_json` (subclasses override)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": str(self.kind), "resource": self.resource.to_json(),
                               "description": self.describe()}
        payload = self.payload()
        if payload:
            out["call"] = jsonable(payload)
        if self.produces:
            out["produces"] = self.produces
        return out


def jsonable(value: Any) -> Any:
    """Plain JSON types, with :class:`Ref` as its placeholder and sets sorted."""
    if isinstance(value, Ref):
        return value.placeholder()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def resolve(value: Any, refs: Mapping[str, Any], *, placeholders: bool = False) -> Any:
    """``value`` with every :class:`Ref` replaced by what ``refs`` holds for it.

    With ``placeholders`` a Ref that is not (yet) in ``refs`` becomes its placeholder text,
    for plans that are printed rather than applied.
    """
    if isinstance(value, Ref):
        if value.name not in refs and placeholders:
            return value.placeholder()
        found = refs[value.name]
        for step in value.path:
            found = found[step]
        return found
    if isinstance(value, Mapping):
        return {k: resolve(v, refs, placeholders=placeholders) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, refs, placeholders=placeholders) for v in value]
    return value


def has_ref(value: Any) -> bool:
    """Whether ``value`` needs an operation of the same plan to have run first."""
    if isinstance(value, Ref):
        return True
    if isinstance(value, Mapping):
        return any(has_ref(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_ref(v) for v in value)
    return False


def name_of(value: Any) -> str:
    """A resource name for :class:`Resource`: the value, or a Ref's placeholder."""
    return value.placeholder() if isinstance(value, Ref) else str(value)


def describe_plan(plan: Sequence[Operation]) -> list[str]:
    """One line per operation, numbered, as ``ccm plan`` prints a plan."""
    return [f"{i}. {op.describe()}" for i, op in enumerate(plan, 1)]
