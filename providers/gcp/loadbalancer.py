"""The GCP load-balancer capability: per-Service locking, type selection, observe -> desired -> plan -> apply.

``ensure`` reconciles the shared instance groups (under their own lock), then the Service's
resources in two phases (see ``plan``); ``update`` (node sync) touches only the shared groups and,
when a zone gained or lost its last node, the Service's backend list; ``delete`` removes the
Service's resources in dependency order and then collects the shared ones no backend service
uses any more.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager

from google.api_core import exceptions as gexc

from providers.adapter.locks import KeyedLocks
from providers.adapter.ownership import Owner
from providers.gcp import links
from providers.gcp.apply import apply
from providers.gcp.clients import Clients, reason_of, translated_errors
from providers.gcp.config import GceConfig
from providers.gcp.desired import Desired, desired, port_status
from providers.gcp.groups import InstanceGroups
from providers.gcp.kinds import KINDS
from providers.gcp.names import (
    health_check_firewall_name,
    load_balancer_name,
    node_health_check_name,
    owned_by_cluster,
    owned_by_service,
)
from providers.gcp.observe import Observed, as_dict, observe
from providers.gcp.operations import GceCall, call
from providers.gcp.plan import plan_delete, plan_firewalls, plan_load_balancer
from providers.gcp.settings import settings_from_request
from providers.gcp.world import Tags, hosts_of
from providers.port import (
    EnsureResult,
    Ingress,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    PortStatus,
    ProviderWarning,
)

log = logging.getLogger(__name__)
REBUILT = "LoadBalancerRebuilt"


def owner_of(request: LoadBalancerRequest) -> Owner:
    return Owner(request.cluster_name, request.key)


class GcpLoadBalancer(LoadBalancer):
    def __init__(self, clients: Clients, config: GceConfig, cluster: str) -> None:
        self.clients = clients
        self.config = config
        self.cluster = cluster
        self.groups = InstanceGroups(clients, cluster)
        self.tags = Tags(clients, config)
        self._locks = KeyedLocks()
        self._shared_lock = threading.Lock()
        #: Service key -> the zones its backend service was last seen or made with (node sync's cache)
        self._backend_zones: dict[str, tuple[str, ...]] = {}

    def _locked(self, request: LoadBalancerRequest) -> AbstractContextManager[None]:
        return self._locks.hold(request.uid or request.key)

    def name(self, request: LoadBalancerRequest) -> str:
        return load_balancer_name(request.uid)

    # -- the five methods ----------------------------------------------------------------------

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        with translated_errors(request.key, "get"):
            o = observe(self.clients, owner_of(request), self.name(request))
        if not o.rules:
            return None
        return _status(o.ip, port_status(request))

    def prepare(self, request: LoadBalancerRequest, *, sync_groups: bool) -> tuple[Desired, Observed,
                                                                                   tuple[ProviderWarning, ...]]:
        """The shared groups (reconciled, or only read for a plan), the desired state and the observation."""
        settings = settings_from_request(request)
        owner, lb = owner_of(request), self.name(request)
        hosts, warnings = hosts_of(request.nodes, self.clients.project)
        if sync_groups:
            zones = self.groups.sync(request.key, hosts, owner, fresh=True)
        else:
            zones = tuple(sorted({h.zone for h in hosts}))
        tags = self.tags.of(hosts)
        d = desired(request, settings, self.config, kind=KINDS[settings.scheme], lb=lb, zones=zones, tags=tags,
                    group_path=self.groups.path)
        o = observe(self.clients, owner, lb, requested_ip=d.requested_ip)
        return d, o, warnings

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        with self._locked(request), translated_errors(request.key, "ensure"):
            d, o, warnings = self.prepare(request, sync_groups=True)
            first = plan_load_balancer(d, o, self.config)
            notes = tuple(ProviderWarning(REBUILT, n) for n in first.notes)
            for w in (*warnings, *notes):
                log.warning("%s: %s", request.key, w.message)
            if first.operations:
                log.info("%s: %s %s (%d calls)", request.key, "updating" if o.rules else "creating", d.kind.label,
                         len(first.operations))
                apply(self.clients, first.operations, request.key)
                o = observe(self.clients, d.owner, d.lb, requested_ip=d.requested_ip)
            second = plan_firewalls(d, o, self.config)
            if second:
                log.info("%s: firewalls and clean-up (%d calls)", request.key, len(second))
                apply(self.clients, second, request.key)
            self._backend_zones[request.key] = d.zones
            uses_shared = any(links.path(h).endswith("/" + node_health_check_name(self.cluster))
                              for h in (o.backend or {}).get("healthChecks", []))
            if not d.shared_health_check and (uses_shared or node_health_check_name(self.cluster) in o.health_checks):
                self.collect_shared(request.key)
            return EnsureResult(_status(o.ip, d.port_status), (*warnings, *notes))

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        settings_from_request(request)  # ImplementedElsewhere stays so for node sync
        owner, lb = owner_of(request), self.name(request)
        with self._locked(request), translated_errors(request.key, "update"):
            hosts, warnings = hosts_of(request.nodes, self.clients.project)
            zones = self.groups.sync(request.key, hosts, owner, fresh=False)
            if self._backend_zones.get(request.key) == zones:
                return warnings
            try:
                backend = as_dict(self.clients.backend_services.get(project=self.clients.project,
                                                                    region=self.clients.region, backend_service=lb))
            except gexc.NotFound:
                return warnings  # not made yet: ensure will
            if not owned_by_service(backend, owner):
                return warnings
            have = sorted(links.path(b.get("group", "")) for b in backend.get("backends", []))
            want = [self.groups.path(z) for z in zones]
            if have != want:
                body: dict[str, object] = {
                        **{k: backend[k] for k in ("name", "loadBalancingScheme", "protocol", "healthChecks")
                           if k in backend},
                        "backends": [{"group": g, "balancingMode": "CONNECTION"} for g in want],
                        "fingerprint": backend.get("fingerprint")}
                apply(self.clients, (call("backendServices", "patch", lb, body, summary="backends"),), request.key)
            self._backend_zones[request.key] = zones
            return warnings

    def delete(self, request: LoadBalancerRequest) -> None:
        with self._locked(request), translated_errors(request.key, "delete"):
            self.delete_named(self.name(request), owner_of(request))

    def delete_named(self, lb: str, owner: Owner) -> tuple[GceCall, ...]:
        o = observe(self.clients, owner, lb)
        ops = plan_delete(lb, self.cluster, o)
        if ops:
            log.info("%s: deleting load balancer %s (%d calls)", owner.service, lb, len(ops))
        apply(self.clients, ops, owner.service)
        self._backend_zones.pop(owner.service, None)
        return (*ops, *self.collect_shared(owner.service))

    # -- shared resources ----------------------------------------------------------------------

    def collect_shared(self, key: str) -> tuple[GceCall, ...]:
        """Delete the shared node health check (and its firewalls) and the instance groups once no
        backend service of the region uses them."""
        project, region = self.clients.project, self.clients.region
        with self._shared_lock:
            used: set[str] = set()
            for bs in self.clients.backend_services.list(project=project, region=region):
                used.update(links.path(h) for h in bs.health_checks)
                used.update(links.path(b.group) for b in bs.backends)
            ops: list[GceCall] = []
            hc_name = node_health_check_name(self.cluster)
            hc_path = links.regional(project, region, "healthChecks", hc_name)
            if hc_path not in used:
                hc: dict[str, object] | None
                try:
                    hc = as_dict(self.clients.health_checks.get(project=project, region=region, health_check=hc_name))
                except gexc.NotFound:
                    hc = None
                fw_names = [health_check_firewall_name("", self.cluster, local=False, internal=i) for i in (False, True)]
                for fw in self.clients.firewalls.list(request={"project": project, "filter": "name eq (" + "|".join(
                        fw_names) + ")"}):
                    if owned_by_cluster(as_dict(fw), self.cluster):
                        ops.append(call("firewalls", "delete", fw.name, scope="global", summary="no Service uses it"))
                if hc is not None and owned_by_cluster(hc, self.cluster, adopt_blank=True):
                    ops.append(call("healthChecks", "delete", hc_name, summary="no Service uses it"))
            # every zone of the region, not only those this process has seen: a restarted process
            # knows nothing of a zone whose last node left before it started
            zones = set(self.groups.known_zones()) | {
                z.rsplit("/", 1)[-1] for z in self.clients.regions.get(project=project, region=region).zones}
            for zone in sorted(zones):
                if self.groups.path(zone) in used:
                    continue
                group = self.groups.read(zone)
                if group.exists and group.owned:
                    ops.append(call("instanceGroups", "delete", self.groups.name, scope=zone,
                                    summary="no Service uses it"))
            if ops:
                log.info("%s: collecting %d shared resource(s) no Service uses", key, len(ops))
            done = []
            for op in ops:
                try:
                    apply(self.clients, (op,), key)
                    done.append(op)
                except gexc.BadRequest as exc:
                    # used by something outside this region's backend services (an Ingress's global
                    # backend service, another controller): not ours to break, and no reason to fail
                    if reason_of(exc) != "resourceInUseByAnotherResource":
                        raise
                    log.info("%s: %s is still in use elsewhere; kept (%s)", key, op.resource, exc.message)
                finally:
                    if op.collection == "instanceGroups":
                        self.groups.forget(op.scope)
            return tuple(done)


def _status(ip: str | None, ports: tuple[PortStatus, ...]) -> LoadBalancerStatus:
    if not ip:
        return LoadBalancerStatus()
    return LoadBalancerStatus((Ingress(ip=ip, ports=ports),))
