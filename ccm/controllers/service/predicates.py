"""Which Services and Nodes the controller acts on (upstream controller.go, §1.2-§1.4 and §2.1-§2.3).

Everything here is a pure function of API dicts (read-only informer objects).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LOAD_BALANCER_CLEANUP_FINALIZER = "service.kubernetes.io/load-balancer-cleanup"
LABEL_EXCLUDE_BALANCERS = "node.kubernetes.io/exclude-from-external-load-balancers"
TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"
MAX_NODE_NAMES_TO_LOG = 20

Obj = Mapping[str, Any]

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(value: str) -> bool:
    """Go ``strconv.ParseBool``: only the twelve literals are accepted ("" and "yes" are errors)."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


# ---- Services ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClassFilter:
    """Which ``spec.loadBalancerClass`` values are ours.

    Upstream owns only class-less Services. ``--load-balancer-class NAME`` additionally owns
    that class (deliberate extension); ``--ignore-unclassed`` gives class-less Services up to
    another controller. Services of any other class are never touched.
    """

    load_balancer_class: str | None = None
    ignore_unclassed: bool = False

    def owns(self, svc: Obj) -> bool:
        cls = _spec(svc).get("loadBalancerClass")
        if cls is None:
            return not self.ignore_unclassed
        return self.load_balancer_class is not None and cls == self.load_balancer_class


DEFAULT_CLASSES = ClassFilter()


def has_finalizer(svc: Obj) -> bool:
    return LOAD_BALANCER_CLEANUP_FINALIZER in (_meta(svc).get("finalizers") or ())


def wants_load_balancer(svc: Obj, classes: ClassFilter = DEFAULT_CLASSES) -> bool:
    return _spec(svc).get("type") == "LoadBalancer" and classes.owns(svc)


def needs_cleanup(svc: Obj, classes: ClassFilter = DEFAULT_CLASSES) -> bool:
    """Upstream needsCleanup, except that a LoadBalancer Service of a class that is not ours is
    never cleaned up by us (its controller shares the finalizer name; upstream ignores the class)."""
    if not has_finalizer(svc):
        return False
    is_lb = _spec(svc).get("type") == "LoadBalancer"
    if is_lb and not classes.owns(svc):
        return False
    return _meta(svc).get("deletionTimestamp") is not None or not is_lb


_PORT_FIELDS = ("name", "protocol", "port", "nodePort", "targetPort", "appProtocol")


def ports_equal_for_lb(old: Sequence[Obj], new: Sequence[Obj]) -> bool:
    """Upstream portsEqualForLB: same length and pairwise (in order) equal LB-relevant fields."""
    if len(old) != len(new):
        return False
    return all(all(a.get(f) == b.get(f) for f in _PORT_FIELDS) for a, b in zip(old, new, strict=True))


def needs_update(old: Obj, new: Obj, classes: ClassFilter = DEFAULT_CLASSES) -> bool:
    """Upstream needsUpdate: the exact trigger list, in upstream order (§1.4)."""
    old_wants, new_wants = wants_load_balancer(old, classes), wants_load_balancer(new, classes)
    if not old_wants and not new_wants:
        return False
    if old_wants != new_wants:
        return True
    os, ns = _spec(old), _spec(new)
    if new_wants and os.get("loadBalancerSourceRanges") != ns.get("loadBalancerSourceRanges"):
        return True
    if not ports_equal_for_lb(os.get("ports") or [], ns.get("ports") or []):
        return True
    for field in ("sessionAffinity", "sessionAffinityConfig", "loadBalancerIP"):
        if os.get(field) != ns.get(field):
            return True
    if list(os.get("externalIPs") or []) != list(ns.get("externalIPs") or []):
        return True
    if _meta(old).get("annotations") != _meta(new).get("annotations"):
        return True
    if _meta(old).get("uid") != _meta(new).get("uid"):
        return True
    for field in ("externalTrafficPolicy", "healthCheckNodePort"):
        if os.get(field) != ns.get(field):
            return True
    return len(os.get("ipFamilies") or []) != len(ns.get("ipFamilies") or [])


# ---- Nodes ------------------------------------------------------------------------------------


def node_not_deleted(node: Obj) -> bool:
    return _meta(node).get("deletionTimestamp") is None


def node_included(node: Obj) -> bool:
    """Exclusion label absent -> included; present -> Go ParseBool of the value, unparseable excludes."""
    labels = _meta(node).get("labels") or {}
    if LABEL_EXCLUDE_BALANCERS not in labels:
        return True
    try:
        return not parse_bool(labels[LABEL_EXCLUDE_BALANCERS])
    except ValueError:
        return False


def node_untainted(node: Obj) -> bool:
    return not any(t.get("key") == TO_BE_DELETED_TAINT for t in (_spec(node).get("taints") or ()))


def stable_node_set(node: Obj) -> bool:
    """stableNodeSetPredicates; readiness is deliberately not considered (KEP-3458)."""
    return node_not_deleted(node) and node_included(node) and node_untainted(node)


def eligible_nodes(nodes: Iterable[Obj]) -> list[Obj]:
    return [n for n in nodes if stable_node_set(n)]


def provider_id(node: Obj) -> str:
    return str(_spec(node).get("providerID") or "")


def should_sync_updated_node(old: Obj, new: Obj) -> bool:
    """Only the exclusion predicate flipping or a providerID change trigger a node sync."""
    return node_included(old) != node_included(new) or provider_id(old) != provider_id(new)


def node_name(node: Obj) -> str:
    return str(_meta(node).get("name", ""))


def node_names(nodes: Iterable[Obj]) -> list[str]:
    return sorted({node_name(n) for n in nodes})


def loggable_node_names(nodes: Sequence[Obj]) -> str:
    """Go ``%v`` of upstream loggableNodeNames: at most 20 sorted names, then ``<N more>``."""
    if len(nodes) > MAX_NODE_NAMES_TO_LOG:
        names = [*node_names(nodes[:MAX_NODE_NAMES_TO_LOG]), f"<{len(nodes) - MAX_NODE_NAMES_TO_LOG} more>"]
    else:
        names = node_names(nodes)
    return "[" + " ".join(names) + "]"
