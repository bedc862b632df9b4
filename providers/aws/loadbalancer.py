"""The AWS load-balancer capability: per-Service locking, type choice, observe -> plan -> apply."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from providers.aws import clb, nlb
from providers.aws.clients import Clients, translated_errors
from providers.aws.names import is_owned, load_balancer_name
from providers.aws.ops import Op, apply, has_ref
from providers.aws.settings import CLB, NLB, Settings, check_settings, settings_from_request
from providers.aws.world import World, describe_groups, observe_groups, observe_world, require_subnets
from providers.base import (
    EnsureResult,
    Ingress,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    PortStatus,
    ProviderWarning,
    UserError,
)
from providers.common import KeyedLocks

log = logging.getLogger(__name__)

#: security-group id -> its IpPermissions
Groups = Mapping[str, Sequence[Mapping[str, Any]]]
#: plans node-group rule changes from a read of the groups
RulePlanner = Callable[[Groups], list[Op]]

CREATE_ONLY = "CreateOnlyAnnotationChanged"
#: what node sync (``update``) may send; everything else waits for the next ensure
_NODE_SYNC_ACTIONS = frozenset({
    "register_instances_with_load_balancer", "deregister_instances_from_load_balancer",
    "register_targets", "deregister_targets",
    "authorize_security_group_ingress", "revoke_security_group_ingress",
})


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

    def _find(self, request: LoadBalancerRequest, lb_type: str, *, foreign_is_error: bool
              ) -> Mapping[str, Any] | None:
        """Our load balancer of ``lb_type`` (tags included under "_tags"), else None."""
        name = self.name(request)
        lb, tags = (clb.find_clb if lb_type == CLB else nlb.find_nlb)(self.clients, name)
        if lb is None:
            return None
        if not is_owned(tags, request) or (lb_type == NLB and lb.get("Type", "network") != "network"):
            log.warning("%s: a load balancer named %s exists but is not tagged as this Service's", request.key, name)
            if foreign_is_error:
                raise UserError(f"load balancer {name} exists but is not tagged as owned by cluster "
                                f"{request.cluster_name} for {request.key}; it is never adopted",
                                reason="ForeignLoadBalancer")
            return None
        return {**lb, "_tags": tags}

    def _existing(self, request: LoadBalancerRequest, wanted: str) -> tuple[str, Mapping[str, Any] | None]:
        """(type, lb): the wanted type's LB, else an LB of the other type we made earlier, else (wanted, None)."""
        lb = self._find(request, wanted, foreign_is_error=True)
        if lb is not None:
            return wanted, lb
        other = NLB if wanted == CLB else CLB
        lb = self._find(request, other, foreign_is_error=False)
        return (other, lb) if lb is not None else (wanted, None)

    # -- the five methods ----------------------------------------------------------------------

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        with translated_errors(request.key, "get"):
            for lb_type in (CLB, NLB):
                lb = self._find(request, lb_type, foreign_is_error=False)
                if lb is not None:
                    return _status(lb, _port_status(request, lb_type))
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
        name = self.name(request)
        with self._locked(request), translated_errors(request.key, "delete"):
            clb_lb = self._find(request, CLB, foreign_is_error=False)
            obs_clb = clb.observe_clb(self.clients, request, name, lb=clb_lb, tags={}, groups={}, details=False)
            managed_sg = obs_clb.sg["GroupId"] if obs_clb.sg is not None else None
            groups = observe_groups(self.clients, request.cluster_name, request.nodes, referencing=managed_sg)
            nlb_lb = self._find(request, NLB, foreign_is_error=False)
            obs_nlb = nlb.observe_nlb(self.clients, request, name, lb=nlb_lb, tags={}, groups=groups,
                                      details=False, targets=False)
            # node rules first: the managed group cannot go while rules still admit it
            self._sync_node_rules(request.key, groups, lambda g: [
                *clb.plan_node_rules_delete(name, managed_sg, g), *nlb.plan_node_rules(name, {}, g)])
            ops = clb.plan_clb_delete(name, obs_clb) + nlb.plan_nlb_delete(name, obs_nlb)
            if ops:
                log.info("%s: deleting load balancer %s (%d calls)", request.key, name, len(ops))
            apply(self.clients, ops, request.key)

    def _sync_node_rules(self, key: str, seen: Groups, plan: RulePlanner) -> None:
        """Change node-group rules from a fresh read under a provider-wide lock.

        Node groups are shared by every Service (an NLB's ICMP rule may serve several), so one
        Service's read-plan-apply must not interleave with another's. ``seen`` is the earlier,
        unlocked read: when it shows nothing to do (the steady state) nothing is re-read.
        """
        if not seen or not plan(seen):
            return
        with self._rules_lock:
            fresh = {g["GroupId"]: g.get("IpPermissions", []) for g in describe_groups(self.clients, ids=list(seen))}
            apply(self.clients, plan(fresh), key)

    # -- reconcile -----------------------------------------------------------------------------

    def _reconcile(self, request: LoadBalancerRequest, settings: Settings, node_sync: bool) -> EnsureResult:
        name = self.name(request)
        lb_type, lb = self._existing(request, settings.lb_type)
        if node_sync and lb is None:
            log.info("%s: no load balancer yet; node sync leaves it to ensure", request.key)
            return EnsureResult(LoadBalancerStatus())
        warnings: list[ProviderWarning] = []
        if lb_type != settings.lb_type:
            warnings.append(ProviderWarning(CREATE_ONLY, (
                f"the load balancer is a {lb_type.upper()}; aws-load-balancer-type applies only when it is "
                f"created, so it stays a {lb_type.upper()} (delete and recreate the Service to change it)")))
        internal = settings.internal
        if lb is not None:
            internal = lb.get("Scheme") == "internal"
        check_settings(settings, lb_type, internal)
        world = observe_world(self.clients, request.key, request.cluster_name, request.nodes,
                              labels=settings.target_node_labels, internal=internal, vpc_hint=self.vpc_hint,
                              subnets=settings.subnets)
        if lb is None:
            require_subnets(world, request.key, internal)
        ops, notes, ports, rules_after = self._plan(request, settings, world, lb_type=lb_type, lb=lb,
                                                  details=not node_sync)
        warnings += [ProviderWarning(CREATE_ONLY, n) for n in notes]
        if node_sync:
            ops = [op for op in ops if op.action in _NODE_SYNC_ACTIONS and not has_ref(op.params)]
        for w in warnings:
            log.warning("%s: %s", request.key, w.message)
        if ops:
            log.info("%s: %s %s load balancer %s (%d calls)", request.key,
                     "syncing nodes of" if node_sync else ("updating" if lb else "creating"),
                     lb_type.upper(), name, len(ops))
        refs = apply(self.clients, ops, request.key)
        self._sync_node_rules(request.key, world.all_groups, rules_after(refs))
        if lb is None:
            # the create call's response carries the DNS name (NLB: the whole description)
            lb = refs.get("lb") or {"DNSName": refs.get("dns")}
        return EnsureResult(_status(lb or {}, ports), tuple(warnings))

    def _plan(self, request: LoadBalancerRequest, settings: Settings, world: World, *, lb_type: str,
              lb: Mapping[str, Any] | None, details: bool
              ) -> tuple[list[Op], list[str], tuple[PortStatus, ...], Callable[[Mapping[str, Any]], RulePlanner]]:
        """(ops, create-only notes, port status, node-rule planner given the applied ops' Refs)."""
        name = self.name(request)
        tags = lb.get("_tags", {}) if lb is not None else {}
        if lb_type == CLB:
            want_c = clb.desired_clb(request, settings, world, name)
            have_c = clb.observe_clb(self.clients, request, name, lb=lb, tags=tags, groups=world.all_groups,
                                     details=details)
            ops, notes = clb.plan_clb(want_c, have_c)
            known_sg = have_c.sg["GroupId"] if have_c.sg is not None else None

            def clb_rules(refs: Mapping[str, Any]) -> RulePlanner:
                # a group created just now is known by its Ref; the rules admit it by id
                source = clb.rule_source(want_c, (refs.get("sg") or known_sg) if want_c.managed_sg else None)
                return lambda groups: clb.plan_node_rules(want_c, groups, source)

            return ops, notes, want_c.port_status, clb_rules
        want_n = nlb.desired_nlb(request, settings, world, name)
        have_n = nlb.observe_nlb(self.clients, request, name, lb=lb, tags=tags, groups=world.all_groups,
                                 details=details)
        ops, notes = nlb.plan_nlb(want_n, have_n)
        return ops, notes, want_n.port_status, lambda _: lambda groups: nlb.plan_node_rules(
            name, want_n.node_rules, groups)


def _status(lb: Mapping[str, Any], ports: Sequence[PortStatus]) -> LoadBalancerStatus:
    dns = lb.get("DNSName")
    if not dns:
        return LoadBalancerStatus()
    return LoadBalancerStatus((Ingress(hostname=str(dns), ports=tuple(ports)),))


def _port_status(request: LoadBalancerRequest, lb_type: str) -> tuple[PortStatus, ...]:
    """Port status for ``get`` without failing on annotations (only the protocols matter)."""
    if lb_type == CLB:
        return tuple(PortStatus(p.port, p.protocol, None if p.protocol == "TCP" else "UnsupportedProtocol")
                     for p in request.ports)
    return tuple(nlb.listener_ports(request, Settings())[1])

