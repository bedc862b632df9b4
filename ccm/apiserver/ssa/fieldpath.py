"""Field sets: which fields of an object a manager owns (structured-merge-diff's ``fieldpath``).

A path element is kept in its ``FieldsV1`` spelling, so a set serialises without translation:
``f:name`` (a struct field or map key), ``k:{"port":80,"protocol":"TCP"}`` (an item of a list
keyed by those fields, keys in name order), ``v:"example.com/x"`` (an item of a set list),
``i:0`` (an item of a list known only by position). A :class:`FieldSet` is a trie: ``members``
are the elements owned at this level, ``children`` the sets below an element. An element can
be both (a list item owned as a whole *and* field by field); ``FieldsV1`` marks that with a
``".": {}`` entry.

The algebra follows upstream exactly, including its asymmetries: :meth:`difference` removes
members only (a child set survives unless its own members are removed), while
:meth:`recursive_difference` drops a whole subtree when the other set owns its root.

Sets are built with :meth:`insert` and not changed afterwards: the algebra returns new sets
that share unchanged subtrees with their operands (no copying on the write path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

PathElement = str
Path = tuple[PathElement, ...]

#: upstream's element order: field names, then keys, then values, then indexes
_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def field(name: str) -> PathElement:
    return "f:" + name


def key(fields: Mapping[str, Any]) -> PathElement:
    return "k:" + json.dumps(dict(sorted(fields.items())), separators=(",", ":"), ensure_ascii=False)


def value(v: Any) -> PathElement:
    return "v:" + json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def index(i: int) -> PathElement:
    return f"i:{i}"


def sort_key(pe: PathElement) -> tuple[int, Any]:
    kind, rest = pe[0], pe[2:]
    return (_RANK.get(kind, 4), int(rest) if kind == "i" else rest)


def _go_value(v: Any) -> str:
    """A key or set value as upstream's ``value.ToString`` prints it (strings quoted)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "null"
    return json.dumps(v, separators=(",", ":")) if isinstance(v, dict | list) else str(v)


def element_string(pe: PathElement) -> str:
    """``.spec``, ``[port=80,protocol="TCP"]``, ``[="x"]``, ``[0]``: how conflicts name a field."""
    kind, rest = pe[0], pe[2:]
    if kind == "f":
        return "." + rest
    if kind == "k":
        return "[" + ",".join(f"{k}={_go_value(v)}" for k, v in json.loads(rest).items()) + "]"
    if kind == "v":
        return f"[={_go_value(json.loads(rest))}]"
    return f"[{rest}]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


class FieldSet:
    """A set of field paths, stored as a trie (see the module docstring)."""

    __slots__ = ("_fields_v1", "children", "members")

    def __init__(self) -> None:
        self.members: set[PathElement] = set()
        self.children: dict[PathElement, FieldSet] = {}
        self._fields_v1: dict[str, Any] | None = None

    # ------------------------------------------------------------------ building

    @classmethod
    def of(cls, *paths: Path) -> FieldSet:
        s = cls()
        for p in paths:
            s.insert(p)
        return s

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node = node.children.setdefault(pe, FieldSet())
        node.members.add(path[-1])

    # ------------------------------------------------------------------ queries

    def empty(self) -> bool:
        return not self.members and all(c.empty() for c in self.children.values())

    def has(self, path: Path) -> bool:
        node: FieldSet | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node is not None else None
        return node is not None and bool(path) and path[-1] in node.members

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path: this level's members first, then each child's, in upstream's order."""
        for pe in sorted(self.members, key=sort_key):
            yield (*prefix, pe)
        for pe in sorted(self.children, key=sort_key):
            yield from self.children[pe].paths((*prefix, pe))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSet) and set(self.paths()) == set(other.paths())

    __hash__ = None  # type: ignore[assignment]  # mutable while built: not a dict key

    def __repr__(self) -> str:
        return "FieldSet(" + ", ".join(path_string(p) for p in self.paths()) + ")"

    # ------------------------------------------------------------------ algebra

    def union(self, other: FieldSet) -> FieldSet:
        if other.empty():
            return self
        if self.empty():
            return other
        out = FieldSet()
        out.members = self.members | other.members
        for pe in self.children.keys() | other.children.keys():
            a, b = self.children.get(pe), other.children.get(pe)
            merged = a.union(b) if a is not None and b is not None else (a or b)
            if merged is not None and not merged.empty():
                out.children[pe] = merged
        return out

    def intersection(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members & other.members
        for pe in self.children.keys() & other.children.keys():
            common = self.children[pe].intersection(other.children[pe])
            if not common.empty():
                out.children[pe] = common
        return out

    def difference(self, other: FieldSet) -> FieldSet:
        """Members of self not members of other, level by level (a child survives its parent's removal)."""
        return self._minus(other, recursive=False)

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Like :meth:`difference`, but a member of other also removes everything below it."""
        return self._minus(other, recursive=True)

    def _minus(self, other: FieldSet, *, recursive: bool) -> FieldSet:
        """The difference; ``self`` itself when other takes nothing from it (its cached FieldsV1 stays)."""
        changed = bool(self.members & other.members)
        children: dict[PathElement, FieldSet] = {}
        for pe, c in self.children.items():
            if recursive and pe in other.members:
                changed = True
                continue
            theirs = other.children.get(pe)
            rest = c._minus(theirs, recursive=recursive) if theirs is not None else c
            changed = changed or rest is not c
            if not rest.empty():
                children[pe] = rest
        if not changed:
            return self
        out = FieldSet()
        out.members = self.members - other.members
        out.children = children
        return out

    # ------------------------------------------------------------------ FieldsV1

    def to_fields_v1(self) -> dict[str, Any]:
        """The ``fieldsV1`` JSON object (keys in upstream's order; kept, as the set does not change)."""
        if self._fields_v1 is None:
            self._fields_v1 = self._encode()
        return self._fields_v1

    def _encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pe in sorted(self.members | self.children.keys(), key=sort_key):
            c = self.children.get(pe)
            if c is None or c.empty():
                out[pe] = {}
            else:
                inner = c.to_fields_v1()
                out[pe] = {".": {}, **inner} if pe in self.members else inner
        return out

    @classmethod
    def from_fields_v1(cls, doc: Any) -> FieldSet:
        """Parse ``fieldsV1``; raises ValueError on anything that is not one."""
        if not isinstance(doc, dict):
            raise ValueError("fieldsV1 must be an object")
        out = cls()
        for pe, sub in doc.items():
            if pe == ".":
                continue
            if not isinstance(pe, str) or len(pe) < 2 or pe[1] != ":" or pe[0] not in _RANK:
                raise ValueError(f"invalid path element {pe!r}")
            if not isinstance(sub, dict):
                raise ValueError(f"{pe}: expected an object")
            if pe[0] in "kv":
                json.loads(pe[2:])  # a key or value that is not JSON is a ValueError
            if not sub or "." in sub:
                out.members.add(pe)
            if any(k != "." for k in sub):
                out.children[pe] = cls.from_fields_v1(sub)
        return out
