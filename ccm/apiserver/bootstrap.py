"""Objects a cluster makes for itself, which kubectl users expect to find.

kube-apiserver keeps a ``kubernetes`` Service in ``default`` (its own address: the first
ClusterIP of the service range, port 443); the service-account controller gives every
namespace a ``default`` ServiceAccount as soon as the namespace exists. Both are made here
through the registry, as those components' writes (their managers appear in managedFields).
What is left out: the ``kubernetes`` Service's endpoints (this server listens on loopback,
which an EndpointSlice may not point at), ``kube-root-ca.crt`` ConfigMaps, and re-creating a
deleted ``default`` ServiceAccount (a controller loop would).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccm.apiserver.registry import Registry

APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"


def _as(registry: Registry, manager: str) -> str:
    previous, registry.field_manager = registry.field_manager, manager
    return previous


def kubernetes_service(registry: Registry, service_cidr: str) -> None:
    """``default/kubernetes``: ClusterIP service-range-first-IP, 443 -> 6443, no selector."""
    services = next(s for s in registry.strategies if s.plural == "services" and not s.group)
    ip = str(ipaddress.ip_network(service_cidr, strict=False)[1])
    previous = _as(registry, APISERVER)
    try:
        registry.create(services, "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}})
    finally:
        registry.field_manager = previous


def namespace_created(registry: Registry, namespace: str) -> None:
    """The service-account controller's answer to a new namespace: its ``default`` ServiceAccount."""
    accounts = next((s for s in registry.strategies if s.plural == "serviceaccounts"), None)
    if accounts is None:
        return
    previous = _as(registry, CONTROLLER_MANAGER)
    try:
        registry.create(accounts, namespace, {"metadata": {"name": "default"}})
    finally:
        registry.field_manager = previous
