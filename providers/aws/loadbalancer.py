"""The AWS load-balancer capability: per-Service locking, type selection, observe -> desired -> plan -> apply.

``_select`` is the only place that chooses between the Classic ELB and the NLB kind; the rest
runs the same steps for either. Node security-group rules are planned in a second phase,
under a provider-wide lock and from a fresh read, because the node groups are shared by all
Services.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from providers.adapter.locks import KeyedLocks
from providers.adapter.ownership import Owner, foreign
from providers.aws.apply import apply
from providers.aws.clb import ClassicElb
from providers.aws.clients import Clients, translated_errors
from providers.aws.kinds import DELETE, FULL, NODE_SYNC, Existing, LoadBalancerKind, Reads, TypePlan
from providers.aws.names import load_balancer_name, owner_of
from providers.aws.nlb import NetworkLb
from providers.aws.operations import AwsCall
from providers.aws.rules import AllOf, Groups, NodeRules
from providers.aws.settings import CLB, NLB, Settings, check_settings, settings_from_request
from providers.aws.world import World, describe_groups, observe_groups, observe_world, require_subnets
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

Kind = LoadBalancerKind[Any, Any]
#: the kinds by Settings.lb_type; the wanted one first, then the others, is the lookup order
KINDS: Mapping[str, Kind] = {CLB: ClassicElb(), NLB: NetworkLb()}

CREATE_ONLY = "CreateOnlyAnnotationChanged"
#: what node sync (``update``) may send; everything else waits for the next ensure
_NODE_SYNC_ACTIONS = frozenset({
    "register_instances_with_load_balancer", "deregister_instances_from_load_balancer",
    "register_targets", "deregister_targets",
    "authorize_security_group_ingress", "revoke_security_group_ingress",
})


@dataclasses.dataclass(frozen=True)
class Reconcile:
    """Everything a reconcile knows before it sends anything (``plan_live`` stops here)."""

    kind: Kind
    existing: Existing | None
    world: World
    plan: TypePlan
    warnings: tuple[ProviderWarning, ...]


class AwsLoadBalancer(LoadBalancer):
    def __init__(self, clients: Clients, options: Mapping[str, str]) -> None:
        self.clients = clients
        self.vpc_hint = options.get("aws-vpc-id") or None
        self._locks = KeyedLocks()
        self._rules_lock = threading.Lock()

    def _locked(self, request: LoadBalancerRequest) -> AbstractContextManager[None]:
        """Serialise the service worker and the node-sync worker on one Service."""
        return self._locks.hold(request.uid or request.key)

    def name(self, request: LoadBalancerRequest) -> str:
        return load_balancer_name(request)

    # -- lookups -------------------------------------------------------------------------------

    def _find(self, kind: Kind, name: str, owner: Owner, *, foreign_is_error: bool) -> Existing | None:
        """Our load balancer of ``kind`` with this name, else None (or a UserError for a foreign one)."""
        found = kind.describe(self.clients, name)
        if found is None:
            return None
        description, tags = found
        if not kind.owned(description, tags, owner):
            log.warning("%s: a load balancer named %s exists but is not tagged as this Service's", owner.service, name)
            if foreign_is_error:
                raise foreign("load balancer", name, owner)
            return None
        return Existing(kind.kind, name, description, tags)

    def _select(self, request: LoadBalancerRequest, settings: Settings) -> tuple[Kind, Existing | None]:
        """The kind to reconcile: the wanted one's load balancer, else one of another kind we made
        earlier (the type is create-only), else the wanted kind with nothing yet."""
        name, owner = self.name(request), owner_of(request)
        wanted = KINDS[settings.lb_type]
        existing = self._find(wanted, name, owner, foreign_is_error=True)
        if existing is not None:
            return wanted, existing
        for kind in KINDS.values():
            if kind is not wanted and (existing := self._find(kind, name, owner, foreign_is_error=False)):
                return kind, existing
        return wanted, None

    # -- the five methods ----------------------------------------------------------------------

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        name, owner = self.name(request), owner_of(request)
        with translated_errors(request.key, "get"):
            for kind in KINDS.values():
                existing = self._find(kind, name, owner, foreign_is_error=False)
                if existing is not None:
                    return _status(existing.dns_name, kind.port_status(request))
        return None

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        settings = settings_from_request(request)
        with self._locked(request), translated_errors(request.key, "ensure"):
            return self._reconcile(request, settings, node_sync=False)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        settings = settings_from_request(request)
        with self._locked(request), translated_errors(request.key, "update"):
            return self._reconcile(request, settings, node_sync=True).warnings

    def delete(self, request: LoadBalancerRequest) -> None:
        with self._locked(request), translated_errors(request.key, "delete"):
            self.delete_named(self.name(request), owner_of(request), request.nodes)

    def delete_named(self, name: str, owner: Owner, nodes: Sequence[Any] = ()) -> tuple[AwsCall, ...]:
        """Delete every part of load balancer ``name`` owned by ``owner``, whether or not the load
        balancer itself exists (a create that failed half-way leaves a group or target groups)."""
        observed = {kind: kind.observe(self.clients, owner, name, groups={}, reads=DELETE,
                                       existing=self._find(kind, name, owner, foreign_is_error=False))
                    for kind in KINDS.values()}
        referenced = [g for kind, obs in observed.items() for g in kind.referenced_groups(obs)]
        groups = observe_groups(self.clients, owner.cluster, nodes, referencing=referenced)
        # node rules first: a group cannot go while rules still admit it
        rules = AllOf(tuple(kind.node_rules_delete(name, obs) for kind, obs in observed.items()))
        revoked = self._sync_node_rules(owner.service, groups, rules)
        ops = tuple(op for kind, obs in observed.items() for op in kind.plan_delete(name, obs))
        if ops:
            log.info("%s: deleting load balancer %s (%d calls)", owner.service, name, len(ops))
        apply(self.clients, ops, owner.service)
        return (*revoked, *ops)

    def _sync_node_rules(self, key: str, seen: Groups, rules: NodeRules) -> list[AwsCall]:
        """Change node-group rules from a fresh read under a provider-wide lock.

        Node groups are shared by every Service (an NLB's ICMP rule may serve several), so one
        Service's read-plan-apply must not interleave with another's. ``seen`` is the earlier,
        unlocked read: when it shows nothing to do (the steady state) nothing is re-read.
        """
        if not seen or not rules.plan(seen):
            return []
        with self._rules_lock:
            fresh = {g["GroupId"]: g.get("IpPermissions", []) for g in describe_groups(self.clients, ids=list(seen))}
            ops = rules.plan(fresh)
            apply(self.clients, ops, key)
            return ops

    # -- reconcile -----------------------------------------------------------------------------

    def prepare(self, request: LoadBalancerRequest, settings: Settings, reads: Reads) -> Reconcile | None:
        """Observe, then plan (pure); None when node sync finds no load balancer to sync."""
        kind, existing = self._select(request, settings)
        if reads is NODE_SYNC and existing is None:
            log.info("%s: no load balancer yet; node sync leaves it to ensure", request.key)
            return None
        warnings: list[ProviderWarning] = []
        if kind.kind != settings.lb_type:
            warnings.append(ProviderWarning(CREATE_ONLY, (
                f"the load balancer is a {kind.label}; aws-load-balancer-type applies only when it is created, so "
                f"it stays a {kind.label} (delete and recreate the Service to change it)")))
        internal = existing.internal if existing is not None else settings.internal
        check_settings(settings, kind.kind, internal)
        world = observe_world(self.clients, request.key, request.cluster_name, request.nodes,
                              labels=settings.target_node_labels, internal=internal, vpc_hint=self.vpc_hint,
                              subnets=settings.subnets)
        if existing is None:
            require_subnets(world, request.key, internal)
        name = self.name(request)
        desired = kind.desired(request, settings, world, name)
        observed = kind.observe(self.clients, owner_of(request), name, existing=existing, groups=world.all_groups,
                                reads=reads)
        planned = kind.plan(desired, observed)
        warnings += [ProviderWarning(CREATE_ONLY, n) for n in planned.notes]
        return Reconcile(kind, existing, world, planned, tuple(warnings))

    def _reconcile(self, request: LoadBalancerRequest, settings: Settings, node_sync: bool) -> EnsureResult:
        prepared = self.prepare(request, settings, NODE_SYNC if node_sync else FULL)
        if prepared is None:
            return EnsureResult(LoadBalancerStatus())
        ops: Sequence[AwsCall] = prepared.plan.operations
        if node_sync:
            ops = [op for op in ops if op.action in _NODE_SYNC_ACTIONS and not op.needs_earlier_result]
        for w in prepared.warnings:
            log.warning("%s: %s", request.key, w.message)
        if ops:
            log.info("%s: %s %s %s (%d calls)", request.key,
                     "syncing nodes of" if node_sync else ("updating" if prepared.existing else "creating"),
                     prepared.kind.label, self.name(request), len(ops))
        refs = apply(self.clients, ops, request.key)
        self._sync_node_rules(request.key, prepared.world.all_groups, prepared.plan.node_rules.resolved(refs))
        # a load balancer created just now: its create call's response carries the DNS name
        dns = prepared.existing.dns_name if prepared.existing is not None else (refs.get("lb") or {}).get("DNSName")
        return EnsureResult(_status(dns, prepared.plan.port_status), prepared.warnings)


def _status(dns: str | None, ports: Sequence[PortStatus]) -> LoadBalancerStatus:
    if not dns:
        return LoadBalancerStatus()
    return LoadBalancerStatus((Ingress(hostname=str(dns), ports=tuple(ports)),))
