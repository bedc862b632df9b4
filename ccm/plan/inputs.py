"""What ``ccm plan`` reads: Services and Nodes from YAML, the default nodes, placeholder uids."""

from __future__ import annotations

import copy
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

import yaml

Obj = dict[str, Any]

#: uuid5 namespace of the placeholder uids (stable across runs and machines)
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "ccm-plan")


class InputError(ValueError):
    """A file that cannot be read as Kubernetes objects; the message names the file."""


def _objects(doc: Any, source: str) -> Iterator[Obj]:
    if doc is None:
        return
    if not isinstance(doc, Mapping):
        raise InputError(f"{source}: expected Kubernetes objects (mappings), found {type(doc).__name__}")
    if str(doc.get("kind", "")).endswith("List") and "items" in doc:
        for item in doc.get("items") or ():
            yield from _objects(item, source)
        return
    yield dict(doc)


def parse_documents(text: str, source: str) -> list[Obj]:
    """Every object of a (multi-document) YAML text; ``kind: List`` and ``*List`` are flattened."""
    try:
        return [obj for doc in yaml.safe_load_all(text) for obj in _objects(doc, source)]
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}") from None


def read_documents(path: str) -> list[Obj]:
    """``path`` (``-`` is standard input) as objects."""
    if path == "-":
        return parse_documents(sys.stdin.read(), "<stdin>")
    try:
        with open(path, encoding="utf-8") as f:
            return parse_documents(f.read(), path)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None


def of_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o.get("kind") == kind]


def default_nodes(provider: str) -> list[Obj]:
    """The nodes assumed without ``--nodes``: ``nodes/<provider>.yaml``, else ``nodes/default.yaml``.

    A provider's file gives its nodes the providerIDs its adapter expects (AWS instance ids); the
    default has none, so a cloud that needs them plans no backends until it has a file here.
    """
    folder = resources.files(__package__).joinpath("nodes")
    own = folder.joinpath(f"{provider}.yaml")
    chosen = own if own.is_file() else folder.joinpath("default.yaml")
    return of_kind(parse_documents(chosen.read_text(encoding="utf-8"), f"ccm/plan/nodes/{chosen.name}"), "Node")


def placeholder_uid(namespace: str, name: str) -> str:
    """The uid a Service without one is planned with: derived from its key, so plans are repeatable.

    Load-balancer names derive from the uid (upstream: ``a`` + uid), so the real names follow the
    uid the API server assigns; ``ccm plan`` says so.
    """
    return str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{name}"))


#: the first placeholder node port (the API server allocates real ones from 30000-32767)
PLACEHOLDER_NODE_PORT = 31000
#: the placeholder health-check node port of an ``externalTrafficPolicy: Local`` Service
PLACEHOLDER_HEALTH_CHECK_NODE_PORT = 32000


def with_defaults(svc: Mapping[str, Any]) -> tuple[Obj, list[str]]:
    """A copy of ``svc`` with what the API server would fill in, and a note for each placeholder.

    The namespace defaults to ``default``; a missing uid, node port or health-check node port
    (a manifest has none of them) gets a deterministic placeholder, so plans are repeatable.
    """
    out = copy.deepcopy(dict(svc))
    meta = out.setdefault("metadata", {})
    meta.setdefault("namespace", "default")
    notes = []
    if not meta.get("uid"):
        meta["uid"] = placeholder_uid(str(meta["namespace"]), str(meta.get("name", "")))
        notes.append(f"metadata.uid is not set: names are derived from the placeholder uid {meta['uid']}; "
                     "the real names follow the uid the API server assigns")
    spec = out.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return out, notes
    filled = []
    if spec.get("allocateLoadBalancerNodePorts", True) is not False:
        taken = {p.get("nodePort") for p in spec.get("ports") or () if p.get("nodePort")}
        candidate = PLACEHOLDER_NODE_PORT
        for port in spec.get("ports") or ():
            if not port.get("nodePort"):
                while candidate in taken:
                    candidate += 1
                port["nodePort"] = candidate
                taken.add(candidate)
                filled.append(f"{port.get('port')}/{port.get('protocol') or 'TCP'} -> {candidate}")
    if filled:
        notes.append("spec.ports[].nodePort is not set: planned with placeholder node ports "
                     + ", ".join(filled) + "; the API server allocates the real ones")
    if spec.get("externalTrafficPolicy") == "Local" and not spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = PLACEHOLDER_HEALTH_CHECK_NODE_PORT
        notes.append(f"spec.healthCheckNodePort is not set: planned with {PLACEHOLDER_HEALTH_CHECK_NODE_PORT}; "
                     "the API server allocates the real one")
    return out, notes


def with_cluster_fields(svc: Mapping[str, Any], stored: Mapping[str, Any]) -> Obj:
    """``svc`` (from a file) as the API server would store it over ``stored`` (the cluster's object
    of the same name): the uid, allocated node ports and health-check node port and the status come
    from ``stored`` where the file has none, so ``--live`` compares with the real load balancer."""
    out = copy.deepcopy(dict(svc))
    meta, stored_meta = out.setdefault("metadata", {}), stored.get("metadata") or {}
    if not meta.get("uid"):
        meta["uid"] = stored_meta.get("uid")
    spec, stored_spec = out.setdefault("spec", {}), stored.get("spec") or {}
    allocated = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort") for p in stored_spec.get("ports") or ()}
    for port in spec.get("ports") or ():
        if not port.get("nodePort"):
            port["nodePort"] = allocated.get((port.get("port"), port.get("protocol") or "TCP"))
    if not spec.get("healthCheckNodePort") and stored_spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = stored_spec["healthCheckNodePort"]
    out.setdefault("status", stored.get("status") or {})
    return out

