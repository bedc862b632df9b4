"""The Azure load-balancer capability: per-Service locking, observe -> desired -> plan -> apply.

Public and internal Services differ only in which shared load balancer holds their frontend
(``desired`` decides); every reconcile also takes the Service off the other one, so moving between
them leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import logging
from contextlib import AbstractContextManager
from typing import Any

from providers.adapter.locks import KeyedLocks
from providers.adapter.operations import Ref
from providers.adapter.ownership import Owner
from providers.azure import observe
from providers.azure.apply import Writer, apply
from providers.azure.clients import Clients, translated_errors
from providers.azure.config import NODE_IP_CONFIGURATION, AzureConfig
from providers.azure.desired import Desired, desired
from providers.azure.edits import frontend_of, props
from providers.azure.names import load_balancer_name, public_ip_name, service_base
from providers.azure.observe import Observed
from providers.azure.plan import (
    FRONTEND_IP,
    Context,
    ServicePlan,
    frontend_names,
    plan_delete,
    plan_ensure,
    plan_node_sync,
)
from providers.azure.security import rules_for
from providers.azure.settings import Settings, public_ip_groups, settings_from_request
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


@dataclasses.dataclass(frozen=True)
class Prepared:
    """Everything a reconcile knows before it sends anything (``plan_live`` stops here)."""

    desired: Desired
    observed: Observed
    plan: ServicePlan


class AzureLoadBalancer(LoadBalancer):
    def __init__(self, clients: Clients, config: AzureConfig) -> None:
        self.clients = clients
        self.config = config
        self.writer = Writer(clients)
        self._locks = KeyedLocks()

    def _locked(self, request: LoadBalancerRequest) -> AbstractContextManager[None]:
        return self._locks.hold(request.uid or request.key)

    def context(self, request: LoadBalancerRequest) -> Context:
        return Context.of(self.config, request)

    def name(self, request: LoadBalancerRequest) -> str:
        """Upstream answers the shared load balancer's name; the frontend makes it this Service's."""
        try:
            internal = settings_from_request(request).internal
        except Exception:
            internal = False
        return f"{load_balancer_name(request.cluster_name, internal)}/{service_base(request.uid)}"

    # -- observe ---------------------------------------------------------------------------------

    def observe_for_ensure(self, request: LoadBalancerRequest, settings: Settings, want: Desired) -> Observed:
        lbs = observe.load_balancers(self.clients, self.config, request.cluster_name)
        pips: dict[str, dict[str, Any]] = {}
        own_group = want.public_ip.group if want.public_ip else self.config.resource_group
        generated = public_ip_name(request.cluster_name, request.uid)
        found = observe.get_or_none(self.clients, "public_ip_addresses", own_group, generated)
        if found is not None:
            pips[f"{own_group}/{generated}".lower()] = found
        spec = want.public_ip
        if spec is not None and not spec.managed:
            user = (observe.get_or_none(self.clients, "public_ip_addresses", spec.group, spec.name) if spec.name
                    else observe.public_ip_by_address(self.clients, spec.group, spec.by_address or ""))
            if user is not None:
                pips[f"{spec.group}/{spec.name or user.get('name')}".lower()] = user
        nsg = None
        if settings.manage_nsg and self.config.security_group_name:
            nsg = observe.get_or_none(self.clients, "network_security_groups", self.config.nsg_resource_group,
                                      self.config.security_group_name)
        nics = observe.node_nics(self.clients, request.nodes) \
            if self.config.backend_pool_type == NODE_IP_CONFIGURATION else None
        return Observed(lbs=lbs, public_ips=pips, tagged_ips=(), security_group=nsg, nics=nics)

    # -- reconcile -------------------------------------------------------------------------------

    def prepare(self, request: LoadBalancerRequest, settings: Settings) -> Prepared:
        want = desired(request, settings, self.config)
        observed = self.observe_for_ensure(request, settings, want)
        if want.public_ip is not None and not want.public_ip.managed and not want.public_ip.name:
            # a user's public IP chosen by address: observe found its name
            name = next((str(b.get("name")) for k, b in observed.public_ips.items()
                         if (b.get("properties") or {}).get("ipAddress") == want.public_ip.by_address), "")
            want = dataclasses.replace(want, public_ip=dataclasses.replace(want.public_ip, name=name))
        warnings: list[ProviderWarning] = []
        rules = rules_for(request, settings, internal=want.internal, warnings=warnings)
        planned = plan_ensure(self.context(request), want, observed, request.nodes, rules=rules,
                              security_group=self.config.security_group_name or None)
        planned = dataclasses.replace(planned, warnings=(*planned.warnings, *warnings))
        return Prepared(want, observed, planned)

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        with translated_errors(request.key, "get"):
            lbs = observe.load_balancers(self.clients, self.config, request.cluster_name)
            for internal, lb in lbs.items():
                names = frontend_names(lb, request.uid)
                if not names:
                    continue
                fe = props(frontend_of(lb, names[0]))
                if internal:
                    ip = fe.get("privateIPAddress")
                else:
                    pip_id = str((fe.get("publicIPAddress") or {}).get("id", ""))
                    parts = pip_id.strip("/").split("/")
                    pip = observe.get_or_none(self.clients, "public_ip_addresses", parts[3], parts[-1]) \
                        if len(parts) > 3 else None
                    ip = props(pip).get("ipAddress") if pip else None
                return _status(ip, (), ())
        return None

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        settings = settings_from_request(request)
        with self._locked(request), translated_errors(request.key, "ensure"):
            prepared = self.prepare(request, settings)
            plan = prepared.plan
            for w in plan.warnings:
                log.warning("%s: %s", request.key, w.message)
            if plan.operations:
                log.info("%s: %d Azure call(s) for %s", request.key, len(plan.operations), self.name(request))
            lb_group, lb_name = self.config.lb_resource_group, prepared.desired.lb_name
            created_before = self.writer.created("load_balancers", lb_group, lb_name)
            refs = apply(self.clients, self.writer, plan.operations, request.key)
            if prepared.observed.lbs.get(prepared.desired.internal) is not None and \
                    self.writer.created("load_balancers", lb_group, lb_name) != created_before:
                # the last other Service took the load balancer (and its pool's NICs) away between our read
                # and our write, and our edit made it again: the NICs must join the new pool
                log.info("%s: load balancer %s was made again; syncing its backend pool", request.key, lb_name)
                self._sync_nodes(request)
            ip = refs.get(FRONTEND_IP) if isinstance(plan.ip, Ref) else plan.ip
            return EnsureResult(_status(ip, plan.ports, settings.additional_public_ips), plan.warnings)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        with self._locked(request), translated_errors(request.key, "update"):
            self._sync_nodes(request)
            return ()

    def _sync_nodes(self, request: LoadBalancerRequest) -> None:
        lbs = observe.load_balancers(self.clients, self.config, request.cluster_name)
        nics = observe.node_nics(self.clients, request.nodes) \
            if self.config.backend_pool_type == NODE_IP_CONFIGURATION else None
        observed = Observed(lbs=lbs, public_ips={}, tagged_ips=(), security_group=None, nics=nics)
        ops = plan_node_sync(self.context(request), observed, request.nodes)
        if ops:
            log.info("%s: node sync: %d Azure call(s)", request.key, len(ops))
        apply(self.clients, self.writer, ops, request.key)

    def observe_for_delete(self, request: LoadBalancerRequest) -> Observed:
        return self.observe_for_delete_by(Owner(request.cluster_name, request.key), public_ip_groups(request))

    def observe_for_delete_by(self, owner: Owner, groups: tuple[str, ...] = ()) -> Observed:
        """What deleting a Service's parts needs: both load balancers, every public IP tagged for it
        (the config's resource group and ``groups``), the security group."""
        lbs = observe.load_balancers(self.clients, self.config, owner.cluster)
        tagged = observe.tagged_public_ips(self.clients, [self.config.resource_group, *groups], owner.cluster,
                                           owner.service)
        nsg = None
        if self.config.security_group_name:
            nsg = observe.get_or_none(self.clients, "network_security_groups", self.config.nsg_resource_group,
                                      self.config.security_group_name)
        return Observed(lbs=lbs, public_ips={}, tagged_ips=tuple(tagged), security_group=nsg, nics=None)

    def delete(self, request: LoadBalancerRequest) -> None:
        with self._locked(request), translated_errors(request.key, "delete"):
            ops = plan_delete(self.context(request), self.observe_for_delete(request))
            if ops:
                log.info("%s: deleting: %d Azure call(s)", request.key, len(ops))
            apply(self.clients, self.writer, ops, request.key)


def _status(ip: Any, ports: tuple[PortStatus, ...], extra: tuple[str, ...]) -> LoadBalancerStatus:
    if not ip:
        return LoadBalancerStatus()
    return LoadBalancerStatus((Ingress(ip=str(ip), ports=ports), *(Ingress(ip=x) for x in extra if x != ip)))
