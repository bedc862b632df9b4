"""The shared per-zone instance groups ``k8s-ig--<cluster>``: one per zone, every Service's backends.

Membership is the cluster's node set, not a Service's, so it is reconciled once for everybody
under a provider-wide lock, from a cache of what each group holds. A node added or removed
therefore costs one ``addInstances``/``removeInstances`` call per affected zone, made by the
first Service that node sync reaches; the others find the cache already matching and call
nothing. ``ensure`` re-reads the groups it needs (repairing out-of-band changes); node sync
trusts the cache, which every call of ours keeps current and any failure invalidates.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence

from google.api_core import exceptions as gexc

from providers.adapter.ownership import Owner, foreign
from providers.gcp import links
from providers.gcp.apply import apply
from providers.gcp.clients import Clients
from providers.gcp.names import cluster_description, instance_group_name, owned_by_cluster
from providers.gcp.operations import GceCall, call
from providers.gcp.world import Host

log = logging.getLogger(__name__)
#: instances per addInstances/removeInstances call (the API takes large batches; keep bodies small)
BATCH = 500


@dataclasses.dataclass(frozen=True)
class Group:
    """One zone's group as observed: ``exists`` False means there is none yet."""

    zone: str
    exists: bool
    owned: bool = True
    members: frozenset[str] = frozenset()  # instance paths


def plan_groups(name: str, cluster: str, hosts: Sequence[Host], observed: Mapping[str, Group],
                owner: Owner) -> tuple[GceCall, ...]:
    """Calls that make each zone's group hold exactly that zone's hosts (pure).

    A zone that has hosts gets a group; a zone whose group holds instances that are no longer
    nodes loses them (the group itself is collected when no backend service uses it).
    """
    ops: list[GceCall] = []
    want: dict[str, set[str]] = {}
    for host in hosts:
        want.setdefault(host.zone, set()).add(host.path)
    for zone in sorted(set(want) | {z for z, g in observed.items() if g.exists}):
        group = observed.get(zone, Group(zone, exists=False))
        wanted = want.get(zone, set())
        if group.exists and not group.owned:
            raise foreign("instance group", f"{name} in {zone}", owner)
        if not group.exists:
            if not wanted:
                continue
            ops.append(call("instanceGroups", "insert", name, {"name": name, "description": cluster_description(cluster)},
                            scope=zone))
        for verb, paths in (("addInstances", sorted(wanted - group.members)),
                            ("removeInstances", sorted(group.members - wanted))):
            for i in range(0, len(paths), BATCH):
                chunk = paths[i:i + BATCH]
                ops.append(call("instanceGroups", verb, name, {"instances": [{"instance": p} for p in chunk]},
                                scope=zone, summary=f"{len(chunk)} instance(s)"))
    return tuple(ops)


class InstanceGroups:
    """The cluster's groups: the read, the cache and the lock around plan and apply."""

    def __init__(self, clients: Clients, cluster: str) -> None:
        self.clients = clients
        self.cluster = cluster
        self.name = instance_group_name(cluster)
        self._lock = threading.Lock()
        self._cache: dict[str, Group] = {}

    def path(self, zone: str) -> str:
        return links.zonal(self.clients.project, zone, "instanceGroups", self.name)

    def read(self, zone: str) -> Group:
        """One zone's group: a get, then its members (read calls only)."""
        project = self.clients.project
        try:
            group = self.clients.instance_groups.get(project=project, zone=zone, instance_group=self.name)
        except gexc.NotFound:
            return Group(zone, exists=False)
        owned = owned_by_cluster({"description": group.description}, self.cluster, adopt_blank=True)
        members = frozenset(
            links.path(item.instance) for item in self.clients.instance_groups.list_instances(
                request={"project": project, "zone": zone, "instance_group": self.name,
                         "instance_groups_list_instances_request_resource": {"instance_state": "ALL"}}))
        return Group(zone, exists=True, owned=owned, members=members)

    def observe(self, zones: Iterable[str], *, fresh: bool) -> dict[str, Group]:
        out = {}
        for zone in sorted(set(zones)):
            cached = None if fresh else self._cache.get(zone)
            out[zone] = cached if cached is not None else self.read(zone)
        return out

    def sync(self, key: str, hosts: Sequence[Host], owner: Owner, *, fresh: bool) -> tuple[str, ...]:
        """Make the groups hold ``hosts``; returns the zones that have a group with hosts (the backends)."""
        zones = {h.zone for h in hosts}
        with self._lock:
            observed = self.observe(zones | set(self._cache), fresh=fresh)
            self._cache.update(observed)
            ops = plan_groups(self.name, self.cluster, hosts, observed, owner)
            if ops:
                log.info("%s: instance groups %s: %d call(s)", key, self.name, len(ops))
                try:
                    apply(self.clients, ops, key)
                except Exception:
                    for zone in {op.scope for op in ops}:
                        self._cache.pop(zone, None)
                    raise
                for zone in {op.scope for op in ops}:
                    members = frozenset(h.path for h in hosts if h.zone == zone)
                    self._cache[zone] = Group(zone, exists=True, owned=True, members=members)
        return tuple(sorted(zones))

    def forget(self, zone: str) -> None:
        with self._lock:
            self._cache.pop(zone, None)

    def known_zones(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._cache))
