"""The nodes as Compute Engine sees them: instances by providerID, their zones and network tags.

A Node maps to an instance through ``spec.providerID`` ``gce://<project>/<zone>/<instance>``.
Node tags (the firewalls' ``targetTags``) come from gce.conf ``node-tags`` when set; otherwise
from the instances' own tags (filtered by ``node-instance-prefix`` when that is set, as
upstream), read once per instance and cached: tags rarely change, and a steady reconcile then
reads nothing for them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable

from google.api_core import exceptions as gexc

from providers.gcp import links
from providers.gcp.clients import Clients
from providers.gcp.config import GceConfig
from providers.port import Node, ProviderWarning

log = logging.getLogger(__name__)
PREFIX = "gce://"


@dataclasses.dataclass(frozen=True, order=True)
class Host:
    zone: str
    name: str
    project: str

    @property
    def path(self) -> str:
        return links.zonal(self.project, self.zone, "instances", self.name)


def host_of(node: Node) -> Host | None:
    """``gce://project/zone/name`` -> Host; None for any other providerID."""
    if not node.provider_id.startswith(PREFIX):
        return None
    parts = node.provider_id[len(PREFIX):].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return Host(zone=parts[1], name=parts[2], project=parts[0])


def hosts_of(nodes: Iterable[Node], project: str) -> tuple[tuple[Host, ...], tuple[ProviderWarning, ...]]:
    """The nodes' instances in this project (sorted), and a warning naming the nodes left out."""
    hosts, skipped = set(), []
    for node in nodes:
        host = host_of(node)
        if host is None or host.project != project:
            skipped.append(node.name)
        else:
            hosts.add(host)
    warnings: tuple[ProviderWarning, ...] = ()
    if skipped:
        warnings = (ProviderWarning("NodeNotInProject", (
            f"nodes without a gce://{project}/<zone>/<instance> providerID are not load-balanced: "
            + ", ".join(sorted(skipped)[:10]) + (" ..." if len(skipped) > 10 else ""))),)
    return tuple(sorted(hosts)), warnings


class Tags:
    """Node tags: the configured ones, or the instances' tags (cached per instance)."""

    def __init__(self, clients: Clients, config: GceConfig) -> None:
        self.clients = clients
        self.config = config
        self._cache: dict[Host, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def of(self, hosts: Iterable[Host]) -> tuple[str, ...]:
        if self.config.node_tags:
            return tuple(sorted(self.config.node_tags))
        tags: set[str] = set()
        for host in hosts:
            tags.update(self._instance_tags(host))
        return tuple(sorted(tags))

    def _instance_tags(self, host: Host) -> tuple[str, ...]:
        with self._lock:
            cached = self._cache.get(host)
        if cached is not None:
            return cached
        try:
            instance = self.clients.instances.get(project=host.project, zone=host.zone, instance=host.name)
        except gexc.NotFound:
            log.info("instance %s not found; no tags from it", host.path)
            return ()
        tags = tuple(instance.tags.items)
        prefix = self.config.node_instance_prefix
        if prefix:
            tags = tuple(t for t in tags if t.startswith(prefix) or host.name.startswith(t))
        with self._lock:
            self._cache[host] = tags
        return tags
