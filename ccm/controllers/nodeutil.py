"""What both node controllers read from and write to Nodes: taints, the Ready condition, API writes.

Reads take the informer's read-only dicts. Writes follow the upstream helpers they replace:
``AddOrUpdateTaintOnNode``/``RemoveTaintOffNode`` (a patch of ``spec.taints`` with a
resourceVersion precondition, re-read from the API and retried on conflict),
``AddOrUpdateLabelsOnNode`` (a labels patch, retried on conflict), ``PatchNodeStatus`` (addresses
through the status subresource).
"""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ccm.kube.client import ApiError, RawClient
from ccm.kube.resources import NODES

log = logging.getLogger(__name__)
Obj = dict[str, Any]
T = TypeVar("T")

#: kubelet --cloud-provider=external registers the node with it (NoSchedule)
TAINT_UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
#: the lifecycle controller's mark for a stopped machine (NoSchedule)
TAINT_SHUTDOWN = "node.cloudprovider.kubernetes.io/shutdown"
#: kubelet --node-ip, which the cloud's addresses must include
PROVIDED_NODE_IP = "alpha.kubernetes.io/provided-node-ip"


def name_of(node: Mapping[str, Any]) -> str:
    return str((node.get("metadata") or {}).get("name", ""))


def taints_of(node: Mapping[str, Any]) -> list[Obj]:
    return [t for t in (node.get("spec") or {}).get("taints") or () if isinstance(t, dict)]


def has_taint(node: Mapping[str, Any], key: str) -> bool:
    return any(t.get("key") == key for t in taints_of(node))


def ready_status(node: Mapping[str, Any]) -> str:
    """The Ready condition's status: ``True``, ``False`` or ``Unknown`` (also when absent)."""
    for c in (node.get("status") or {}).get("conditions") or ():
        if isinstance(c, dict) and c.get("type") == "Ready":
            return str(c.get("status") or "Unknown")
    return "Unknown"


def retry_on_conflict(call: Callable[[], T], *, steps: int, interval: float, jitter: float = 0.0,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """client-go ``retry.RetryOnConflict``: repeat ``call`` while it fails with 409, up to ``steps`` tries."""
    for attempt in range(steps):
        try:
            return call()
        except ApiError as exc:
            if not exc.is_conflict or attempt == steps - 1:
                raise
        sleep(interval * (1.0 + random.random() * jitter))
    raise AssertionError("unreachable")


#: retry.DefaultRetry (client-go): 5 tries, 10 ms apart (the factor is left out: conflicts are brief here)
DEFAULT_STEPS, DEFAULT_INTERVAL = 5, 0.01


class NodeWriter:
    """The Node writes of both controllers, over the API (never through the cache)."""

    def __init__(self, client: RawClient) -> None:
        self.client = client

    def get(self, name: str) -> Obj:
        return self.client.get(NODES.item_path(None, name))

    def update(self, node: Mapping[str, Any]) -> Obj:
        return self.client.update(NODES.item_path(None, name_of(node)), node)

    def delete(self, name: str) -> None:
        self.client.delete(NODES.item_path(None, name))

    def patch_addresses(self, name: str, addresses: Sequence[Mapping[str, str]]) -> Obj:
        """Replace ``status.addresses`` whole (a merge patch replaces the list, duplicates of a type included)."""
        return self.client.patch(NODES.item_path(None, name, "status"),
                                 {"status": {"addresses": [dict(a) for a in addresses]}}, "merge")

    def set_labels(self, name: str, labels: Mapping[str, str]) -> Obj:
        return retry_on_conflict(
            lambda: self.client.patch(NODES.item_path(None, name), {"metadata": {"labels": dict(labels)}}, "merge"),
            steps=DEFAULT_STEPS, interval=DEFAULT_INTERVAL)

    def _patch_taints(self, name: str, change: Callable[[list[Obj]], list[Obj] | None]) -> bool:
        """Re-read the node, apply ``change`` to its taints (None: nothing to do), patch with a precondition."""

        def attempt() -> bool:
            node = self.get(name)
            taints = change(copy.deepcopy(taints_of(node)))
            if taints is None:
                return False
            body = {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                    "spec": {"taints": taints}}
            self.client.patch(NODES.item_path(None, name), body, "merge")
            return True

        return retry_on_conflict(attempt, steps=DEFAULT_STEPS, interval=DEFAULT_INTERVAL)

    def add_taint(self, name: str, taint: Mapping[str, Any]) -> bool:
        """Add or update the taint with ``taint['key']`` and effect; False when it was already so."""

        def change(taints: list[Obj]) -> list[Obj] | None:
            same = [t for t in taints if t.get("key") == taint["key"] and t.get("effect") == taint.get("effect")]
            if same and same[0] == dict(taint):
                return None
            return [t for t in taints if t not in same] + [dict(taint)]

        return self._patch_taints(name, change)

    def remove_taint(self, name: str, key: str) -> bool:
        """Remove every taint with ``key``; False when there was none."""

        def change(taints: list[Obj]) -> list[Obj] | None:
            kept = [t for t in taints if t.get("key") != key]
            return kept if len(kept) != len(taints) else None

        return self._patch_taints(name, change)
