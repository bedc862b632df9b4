"""Finalizer and status writes, both as strategic-merge patches on the ``status`` subresource.

Upstream diffs an informer copy against the changed copy (``PatchService``); the patches here are
the minimal ones that diff would produce, built directly: adding the finalizer sends
``$setElementOrder/finalizers`` (the full new order) plus the one new entry; removing it sends
``$deleteFromPrimitiveList/finalizers``; a status write replaces ``status.loadBalancer``
(``ingress`` is an atomic list, so it is sent whole, or as ``null`` to clear it). No
resourceVersion precondition, like upstream. The Service status strategy resets only ``spec``,
so metadata changes go through ``/status`` (the RBAC role has no ``services`` update).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ccm.controllers.service.predicates import LOAD_BALANCER_CLEANUP_FINALIZER
from ccm.controllers.service.status import to_api
from ccm.kube.client import RawClient
from ccm.kube.resources import SERVICES
from providers.port import LoadBalancerStatus

F = LOAD_BALANCER_CLEANUP_FINALIZER
FinalizerPatch = Callable[[list[str]], dict[str, Any] | None]


def add_finalizer_patch(finalizers: list[str]) -> dict[str, Any] | None:
    """None when the finalizer is already present (no API call)."""
    if F in finalizers:
        return None
    if not finalizers:
        return {"metadata": {"finalizers": [F]}}
    return {"metadata": {"$setElementOrder/finalizers": [*finalizers, F], "finalizers": [F]}}


def remove_finalizer_patch(finalizers: list[str]) -> dict[str, Any] | None:
    """Removes every occurrence (the directive deletes all); None when absent."""
    if F not in finalizers:
        return None
    return {"metadata": {"$deleteFromPrimitiveList/finalizers": [F]}}


def status_patch(status: LoadBalancerStatus) -> dict[str, Any]:
    lb = to_api(status)
    return {"status": {"loadBalancer": lb if lb else {"ingress": None}}}


class ServicePatcher:
    """Sends the patches above for one Service dict (read-only: never mutated)."""

    def __init__(self, client: RawClient) -> None:
        self.client = client

    def _patch(self, svc: Mapping[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        meta = svc.get("metadata") or {}
        path = SERVICES.item_path(meta.get("namespace"), meta.get("name", ""), "status")
        return self.client.patch(path, body, "strategic")

    def _patch_finalizers(self, svc: Mapping[str, Any], build: FinalizerPatch) -> bool:
        """False when there is nothing to change (no API call)."""
        body = build(list((svc.get("metadata") or {}).get("finalizers") or []))
        if body is None:
            return False
        self._patch(svc, body)
        return True

    def add_finalizer(self, svc: Mapping[str, Any]) -> bool:
        return self._patch_finalizers(svc, add_finalizer_patch)

    def remove_finalizer(self, svc: Mapping[str, Any]) -> bool:
        return self._patch_finalizers(svc, remove_finalizer_patch)

    def patch_status(self, svc: Mapping[str, Any], status: LoadBalancerStatus) -> None:
        self._patch(svc, status_patch(status))
