"""Request bodies as kube-apiserver reads them: bounded size, bounded nesting, no alias bombs.

kube-apiserver refuses a body over 3 MiB with a 413 before decoding it; its JSON decoder
stops at a nesting limit (a 400, not a crash); its YAML decoder (go-yaml) refuses documents
whose aliases expand far beyond their size ("excessive aliasing"); and its strict decoder
reports duplicate keys (``fieldValidation=Strict`` rejects them, ``Warn`` warns). This module
holds those rules, so the HTTP layer stays about routing and the registry about objects.

Python's parsers differ from Go's in ways that matter here: ``json.loads`` keeps the last
of duplicate keys silently and recurses (a 100k-deep array is a ``RecursionError``), and
PyYAML shares one object for every use of an anchor, so a 600-byte "billion laughs" loads
cheaply and only explodes when serialised. Each is checked explicitly below.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import yaml

from ccm.apiserver import errors
from ccm.apiserver.protobuf import codec as protobuf

#: kube-apiserver's limit on a request body (``MaxRequestBodyBytes``, 3 MiB)
MAX_REQUEST_BYTES = 3 * 1024 * 1024
#: the largest stored object: etcd's default request limit (1.5 MiB), which is what bounds
#: an object on a real cluster (after defaulting, a body under 3 MiB can still exceed it)
MAX_OBJECT_BYTES = 1536 * 1024
#: nesting limit for decoded bodies. Go's decoder allows 10,000 levels; Python's recursion
#: limit does not, and no object of the kinds served nests deeper than ~20.
MAX_DEPTH = 256

# go-yaml's excessive-aliasing rule: the share of decoded nodes that come from alias
# expansion may be 99% for small documents, falling to 10% at 4M decoded nodes.
_ALIAS_LOW, _ALIAS_HIGH = 400_000, 4_000_000



class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml when available (it bounds nesting itself); timestamps stay strings, as in YAML->JSON."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
_JSON_TYPES = (dict, list, str, int, float, bool, type(None))


class Decoded(NamedTuple):
    """A parsed body and the duplicate keys it held (as field paths, e.g. ``metadata.name``)."""

    obj: Any
    duplicates: list[str]


def parse_error(detail: object) -> errors.APIError:
    return errors.bad_request(f"couldn't get version/kind; json parse error: {detail}")


def parse(raw: bytes, content_type: str) -> Decoded:
    """Decode a JSON, YAML or Kubernetes-protobuf body; any failure is a 400 Status, never an exception."""
    if content_type == protobuf.MEDIA_TYPE:
        try:
            return Decoded(protobuf.decode(raw), [])
        except protobuf.CodecError as exc:
            raise errors.bad_request(str(exc)) from None
    if "yaml" in content_type:
        return _parse_yaml(raw)
    return _parse_json(raw)


def _parse_json(raw: bytes) -> Decoded:
    dup_objects: list[tuple[dict[str, Any], list[str]]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            dups = [k for k, _ in items if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
            dup_objects.append((obj, dups))
        return obj

    try:
        obj = json.loads(raw, object_pairs_hook=pairs)
    except RecursionError:
        raise parse_error("exceeded max depth") from None
    except ValueError as exc:
        raise parse_error(exc) from None
    check_depth(obj)
    return Decoded(obj, _duplicate_paths(obj, dup_objects) if dup_objects else [])


def _parse_yaml(raw: bytes) -> Decoded:
    loader = _Loader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return Decoded(None, [])
        duplicates, aliased = _check_yaml_graph(node)
        obj = loader.construct_document(node)
    except RecursionError:
        raise parse_error("exceeded max depth") from None
    except yaml.YAMLError as exc:
        raise parse_error(f"yaml: {exc}") from None
    finally:
        loader.dispose()
    check_depth(obj)
    if aliased:  # every use of an anchor is one shared object: give each its own copy
        obj = json.loads(json.dumps(obj))
    return Decoded(obj, duplicates)


def _allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _ALIAS_LOW:
        return 0.99
    if decoded >= _ALIAS_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _ALIAS_LOW) / (_ALIAS_HIGH - _ALIAS_LOW)


def _check_yaml_graph(root: yaml.Node) -> tuple[list[str], bool]:
    """Refuse excessive aliasing and cycles; return the duplicate mapping keys (as field paths)
    and whether any alias was used.

    PyYAML's composer returns the anchored node itself for every alias, so the node graph is a
    DAG whose expanded size is what a JSON encoder would produce. Sizes are computed bottom-up
    without recursion (memoised per node), in the order go-yaml's counters would see them.
    """
    size: dict[int, int] = {}
    unique = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            total = 1 + sum(size[id(c)] for c in _children(node))
            size[nid] = total
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise parse_error("yaml: document contains excessive aliasing")  # a recursive alias
        on_path.add(nid)
        unique += 1
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
    decoded = size[id(root)]
    aliased = decoded - unique
    if aliased > 100 and decoded > 1000 and aliased / decoded > _allowed_alias_ratio(decoded):
        raise parse_error("yaml: document contains excessive aliasing")
    return _yaml_duplicates(root), aliased > 0


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _yaml_duplicates(root: yaml.Node) -> list[str]:
    out: list[str] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for k, v in node.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                if key in keys:
                    out.append(_join(path, key))
                keys.add(key)
                stack.append((v, _join(path, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node.value))
    return sorted(out)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_depth(obj: Any, limit: int = MAX_DEPTH) -> None:
    """A 400 when ``obj`` nests deeper than ``limit`` or holds something JSON cannot (a YAML set,
    a non-string key); iterative, so safe on any input."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise parse_error("object keys must be strings")
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        elif isinstance(value, _JSON_TYPES):
            continue
        else:
            raise parse_error(f"unsupported value of type {type(value).__name__}")
        if depth > limit:
            raise parse_error("exceeded max depth")
        stack.extend((c, depth + 1) for c in children if not isinstance(c, str | int | float | type(None)))


def _duplicate_paths(root: Any, dup_objects: list[tuple[dict[str, Any], list[str]]]) -> list[str]:
    """Field paths of the duplicate keys ``json.loads`` folded (found by object identity)."""
    wanted = {id(obj): keys for obj, keys in dup_objects}
    out: list[str] = []
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack and wanted:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key in wanted.pop(id(value), ()):
                out.append(_join(path, key))
            stack.extend((v, _join(path, k)) for k, v in value.items() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value) if isinstance(v, dict | list))
    return sorted(out)
