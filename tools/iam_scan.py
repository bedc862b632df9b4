"""What the per-cloud permission scans share (``aws_iam``, ``gcp_iam``, ``azure_rbac``).

Each scan reads an adapter's source (an AST walk, nothing imported or run) and turns the cloud
calls it finds into the permissions a role must grant; a test compares those with the role file
under ``deploy/iam``. Three questions are the same for every cloud, and answered here:

- *which calls*: attribute calls and their receivers' names, string literals (module constants
  resolved) in a call's arguments, and names that look like SDK methods but were never attributed
  to a client (reported as unresolved, so a new call shape fails loudly instead of being missed);
- *which request fields*: the keys the adapter writes into request bodies (dict displays and
  subscript stores) and ``key: value`` pairs written as literals; a permission the cloud checks on a
  referenced resource (GCP's ``*.use``, Azure's ``join/action``) is due when its field is written;
- *which references*: the resource types the adapter's id/link builders are called with, so a new
  kind of reference fails until someone says which permission (or none) it needs.

Stdlib only: the per-cloud modules read their SDK's models or sources as data.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

Source = tuple[str, ast.Module]  # (path relative to the adapter's parent, parsed module)


def sources(root: Path) -> list[Source]:
    """Every module of the adapter package at ``root``, parsed."""
    return [(str(path.relative_to(root.parent)), ast.parse(path.read_text(), str(path)))
            for path in sorted(root.rglob("*.py"))]


def installed_package(name: str) -> Path:
    """Where an installed package's sources are, without importing it (its models are read as data)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed (run with the project's venv)")
    return Path(next(iter(spec.submodule_search_locations)))


def at(where: str, node: ast.AST) -> str:
    return f"{where}:{getattr(node, 'lineno', '?')}"


def last_name(node: ast.AST) -> str | None:
    """``a.b.c`` -> ``c``; ``name`` -> ``name``; anything else -> None."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def strings(nodes: Iterable[ast.AST]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def module_constants(srcs: Iterable[Source]) -> dict[str, str]:
    """``NAME = "text"`` at module level anywhere in the package (how a constant argument is read)."""
    out: dict[str, str] = {}
    for _, tree in srcs:
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) \
                    and isinstance(stmt.value.value, str):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        out.setdefault(target.id, stmt.value.value)
    return out


def call_args(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


def literal_args(call: ast.Call, constants: Mapping[str, str]) -> list[str]:
    """The call's arguments that are string literals or module constants holding one, in order."""
    out = []
    for arg in call_args(call):
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            out.append(arg.value)
        elif isinstance(arg, ast.Name) and arg.id in constants:
            out.append(constants[arg.id])
    return out


@dataclasses.dataclass(frozen=True)
class Written:
    """What the adapter writes into request bodies, with the first place each is written."""

    #: keys of dict displays and of subscript stores (``body["IPAddress"] = ...``)
    keys: Mapping[str, str]
    #: ``{"key": "value"}`` entries whose key and value are both literals
    pairs: Mapping[tuple[str, str], str]


def written(srcs: Iterable[Source]) -> Written:
    keys: dict[str, str] = {}
    pairs: dict[tuple[str, str], str] = {}
    for where, tree in srcs:
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        keys.setdefault(key.value, at(where, node))
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            pairs.setdefault((key.value, value.value), at(where, node))
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                keys.setdefault(node.slice.value, at(where, node))
    return Written(keys, pairs)


def builder_literals(srcs: Iterable[Source], is_builder: Callable[[ast.Call], bool]) -> dict[str, str]:
    """The resource types the adapter's id/link builders are called with -> first place.

    A builder takes the type just before the name (``links.regional(project, region, "subnetworks",
    name)``, ``network_id(subscription, group, "publicIPAddresses", name)``); a literal there is
    the type of resource the built reference names.
    """
    out: dict[str, str] = {}
    for where, tree in srcs:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and len(node.args) >= 2 and is_builder(node):
                for text in strings(node.args[-2:-1]):
                    out.setdefault(text, at(where, node))
    return out


def functions(srcs: Iterable[Source]) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for where, tree in srcs:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield where, node


class CallScan(ast.NodeVisitor):
    """Base of a per-module visitor: what it attributed, and what it could not, each with its first place."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.calls: dict[object, str] = {}
        #: names that look like SDK methods, seen on receivers no rule attributes
        self.mentions: dict[str, str] = {}
        self.unresolved: dict[str, str] = {}

    def place(self, node: ast.AST) -> str:
        return at(self.where, node)


V = TypeVar("V", bound=CallScan)
K = TypeVar("K")


def visit_all(srcs: Iterable[Source], make: Callable[[str], V]) -> tuple[list[V], CallScan]:
    """Run one visitor per module; also their findings merged (the first place of each kept)."""
    visitors, merged = [], CallScan("")
    for where, tree in srcs:
        visitor = make(where)
        visitor.visit(tree)
        visitors.append(visitor)
        _keep_first(merged.calls, visitor.calls)
        _keep_first(merged.mentions, visitor.mentions)
        _keep_first(merged.unresolved, visitor.unresolved)
    return visitors, merged


def _keep_first(into: dict[K, str], new: Mapping[K, str]) -> None:
    for key, place in new.items():
        into.setdefault(key, place)


def report(needed: Mapping[str, str], problems: Mapping[str, str]) -> int:
    """A scan's command line: each permission and why on stdout, each problem on stderr."""
    for name, why in sorted(needed.items()):
        print(f"{name}\t{why}")
    for problem, where in problems.items():
        print(f"{problem} ({where})", file=sys.stderr)
    return 1 if problems else 0


#: method names of Python's own containers: ``x.get(...)`` says nothing about a cloud client
BUILTIN_METHODS = frozenset(name for t in (dict, list, set, str, tuple, bytes, object) for name in dir(t))


@dataclasses.dataclass(frozen=True)
class Conditional:
    """A permission the cloud checks besides the method's own one: due when the adapter calls
    ``method`` and writes everything in ``when`` (a body key, or a literal ``(key, value)`` pair)."""

    method: str
    permission: str
    why: str
    when: tuple[str | tuple[str, str], ...] = ()
    #: the resource type the referencing field names (what the reference guard expects covered)
    refers: str | None = None

    def due(self, methods: Iterable[str], body: Written) -> bool:
        return self.method in set(methods) and all(
            (w in body.pairs) if isinstance(w, tuple) else (w in body.keys) for w in self.when)


def compare(needed: Iterable[str], granted: Iterable[str], implied: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(missing: needed but not granted, extra: granted but neither needed nor implied)."""
    need, have = set(needed), set(granted)
    return sorted(need - have), sorted(have - need - set(implied))
