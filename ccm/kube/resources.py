"""API resources as values, their URL paths, and the ``namespace/name`` object keys."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


@dataclasses.dataclass(frozen=True)
class Resource:
    """One REST resource of the API, e.g. ``discovery.k8s.io/v1 endpointslices``."""

    group: str
    """API group; ``""`` for the core (legacy) group served under ``/api``."""
    version: str
    """API version, e.g. ``v1``."""
    plural: str
    """The lower-case plural used in URLs, e.g. ``services``."""
    kind: str
    """The object kind, e.g. ``Service`` (list items carry no kind; informers fill it in)."""
    namespaced: bool
    """Whether objects live in a namespace (Nodes do not)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def _prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """The list/watch/create URL; ``namespace=None`` lists across all namespaces."""
        if namespace and not self.namespaced:
            raise ValueError(f"{self.plural} is not namespaced")
        if namespace:
            return f"{self._prefix}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{self._prefix}/{self.plural}"

    def item_path(self, namespace: str | None, name: str, subresource: str | None = None) -> str:
        if not name:
            raise ValueError(f"{self.plural}: empty object name")
        if self.namespaced and not namespace:
            raise ValueError(f"{self.plural} {name}: a namespace is required")
        path = f"{self.collection_path(namespace if self.namespaced else None)}/{quote(name, safe='')}"
        return f"{path}/{subresource}" if subresource else path


SERVICES = Resource("", "v1", "services", "Service", namespaced=True)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
EVENTS = Resource("", "v1", "events", "Event", namespaced=True)
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", namespaced=True)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True)


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc)."""
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else meta["name"]


def split_key(key: str) -> tuple[str, str]:
    """Invert :func:`object_key`: ``("", name)`` for cluster-scoped keys."""
    parts = key.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ValueError(f"unexpected key format: {json.dumps(key)}")
