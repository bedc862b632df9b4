"""The OpenStack load-balancer capability: per-Service locking, observe -> desired -> plan -> apply.

``prepare`` is everything a reconcile knows before it sends anything (``plan_live`` stops there):
find our load balancer (name plus ownership marks; a foreign one with our name is an error),
wait for any job already running on it, read its tree and floating IPs, resolve member addresses,
build the desired state and diff. ``ensure`` then applies the whole plan; ``update`` (node sync)
applies only the batch member updates, one call per pool.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from providers.adapter.locks import KeyedLocks
from providers.adapter.ownership import Owner
from providers.openstack import desired as want
from providers.openstack.apply import apply
from providers.openstack.clients import translated_errors
from providers.openstack.config import OpenStackConfig
from providers.openstack.names import owner_of, ownership_tags, request_name
from providers.openstack.operations import OsCall
from providers.openstack.plan import Observed, plan, plan_delete, plan_members
from providers.openstack.settings import Settings, settings_from_request
from providers.openstack.world import World
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
CREATE_ONLY = "CreateOnlyAnnotationChanged"


@dataclasses.dataclass(frozen=True)
class Reconcile:
    """Everything a reconcile knows before it sends anything."""

    settings: Settings
    desired: want.Desired
    observed: Observed
    operations: tuple[OsCall, ...]
    warnings: tuple[ProviderWarning, ...]
    #: the floating IP the load balancer has or gets (None: internal, or one the plan creates)
    address: str | None = None


class OpenStackLoadBalancer(LoadBalancer):
    def __init__(self, conn: Any, config: OpenStackConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn = conn
        self.config = config
        self.sleep = sleep
        self.world = World(conn, config.waits, sleep)
        self._locks = KeyedLocks()

    def name(self, request: LoadBalancerRequest) -> str:
        return request_name(request)

    # -- the five methods ----------------------------------------------------------------------

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        owner = owner_of(request)
        with translated_errors(request.key, "get"):
            lb, _ = self.world.find(owner, request.key, foreign_is_error=False)
            if lb is None:
                return None
            fips = self.world.port_fips(lb["vip_port_id"])
        settings = None
        try:
            settings = settings_from_request(request, self.config)
        except Exception:  # get never fails on annotations: report the address alone
            log.debug("%s: get without settings", request.key)
        address = fips[0]["floating_ip_address"] if fips else lb.get("vip_address")
        return _status(address, settings, _ports(request))

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        settings = settings_from_request(request, self.config)
        with self._locks.hold(request.uid or request.key), translated_errors(request.key, "ensure"):
            prepared = self.prepare(request, settings, node_sync=False)
            for w in prepared.warnings:
                log.warning("%s: %s", request.key, w.message)
            if prepared.operations:
                log.info("%s: %s load balancer %s (%d calls)", request.key,
                         "updating" if prepared.observed.lb else "creating", prepared.desired.name,
                         len(prepared.operations))
            refs = apply(self.conn, self.config.waits, prepared.operations, request.key, self.sleep)
            return EnsureResult(_status(self._address(prepared, refs), settings, _ports(request)), prepared.warnings)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        settings = settings_from_request(request, self.config)
        with self._locks.hold(request.uid or request.key), translated_errors(request.key, "update"):
            prepared = self.prepare(request, settings, node_sync=True)
            if prepared.operations:
                log.info("%s: syncing the members of %s (%d batch calls)", request.key, prepared.desired.name,
                         len(prepared.operations))
            apply(self.conn, self.config.waits, prepared.operations, request.key, self.sleep)
            return prepared.warnings

    def delete(self, request: LoadBalancerRequest) -> None:
        owner = owner_of(request)
        keep = False
        try:
            keep = settings_from_request(request, self.config).keep_floating_ip
        except Exception:  # deletion is never blocked by an annotation that no longer validates
            log.info("%s: deleting with default settings", request.key)
        with self._locks.hold(request.uid or request.key), translated_errors(request.key, "delete"):
            self.delete_owned(owner, request.key, keep)

    def delete_owned(self, owner: Owner, key: str, keep: bool) -> tuple[OsCall, ...]:
        """Delete everything of ``owner``'s, found by name and marks, whether or not its load balancer exists."""
        lb, extras = self.world.find(owner, key, foreign_is_error=False)
        if lb is not None and lb.get("provisioning_status") in ("PENDING_CREATE", "PENDING_UPDATE"):
            lb = self.world.settled(lb, key)
        observed = Observed(lb=lb, port_fips=self.world.port_fips(lb["vip_port_id"]) if lb else (),
                            owned_fips=self.world.owned_fips(owner), extra_lbs=extras)
        ops = plan_delete(ownership_tags(owner), keep, observed, owner)
        if ops:
            log.info("%s: deleting load balancer %s (%d calls)", key, lb["name"] if lb else "(none)", len(ops))
        apply(self.conn, self.config.waits, ops, key, self.sleep)
        return ops

    # -- reconcile -----------------------------------------------------------------------------

    def prepare(self, request: LoadBalancerRequest, settings: Settings, *, node_sync: bool) -> Reconcile:
        owner = owner_of(request)
        warnings: list[ProviderWarning] = []
        if settings.forced_internal:
            warnings.append(ProviderWarning("LoadBalancerForcedInternal", (
                "cloud.conf internal-lb = true makes every load balancer internal; the annotation asking for a "
                "public one is ignored")))
        lb, extras = self.world.find(owner, request.key, foreign_is_error=True, lb_id=settings.load_balancer_id)
        if lb is not None:
            lb = self.world.settled(lb, request.key)
        vip = self._vip(request, settings, lb)
        # an existing load balancer keeps its VIP subnet (create-only): members default to that one
        vip_subnet = lb["vip_subnet_id"] if lb is not None else vip.subnet_id
        member_subnet = settings.member_subnet_id or vip_subnet
        members, left_out = self.world.member_addresses(request.nodes, member_subnet, settings.node_selector,
                                                        request.key)
        if left_out:
            warnings.append(ProviderWarning("LoadBalancerMembersSkipped", (
                f"nodes {', '.join(left_out)} have no address on member subnet {member_subnet} and get no member")))
        fip_subnet = None
        if not settings.internal and lb is None and not node_sync:
            fip_subnet = self.world.floating_subnet(settings.floating_network_id, settings.floating_subnet_id,
                                                    settings.floating_subnet, settings.floating_subnet_tags)
        vip_family = ipaddress.ip_network(self.world.cidr(vip_subnet)).version
        desired = want.build(request, settings, members=members,
                             member_subnet_id=settings.member_subnet_id or None, vip=vip, vip_family=vip_family,
                             floating_subnet_id=fip_subnet)
        warnings += desired.warnings
        observed = self.world.observe(lb, extras, owner, fips=not node_sync, monitors=not node_sync,
                                      requested_ip=None if settings.internal else request.requested_ip)
        if node_sync:
            return Reconcile(settings, desired, observed, plan_members(desired, observed), tuple(warnings))
        planned = plan(desired, observed)
        warnings += [ProviderWarning(CREATE_ONLY, n) for n in planned.notes]
        return Reconcile(settings, desired, observed, planned.operations, tuple(warnings), planned.address)

    def _vip(self, request: LoadBalancerRequest, settings: Settings, lb: dict[str, Any] | None) -> want.Vip:
        address = request.requested_ip if settings.internal else None
        if lb is not None:
            return want.Vip(settings.subnet_id or lb["vip_subnet_id"], settings.network_id, settings.port_id,
                            address)
        subnet = settings.subnet_id
        if not subnet and settings.port_id:
            port = self.conn.network.get_port(settings.port_id)
            subnet = port.fixed_ips[0]["subnet_id"] if port.fixed_ips else ""
        if not subnet:
            subnet = self.world.subnet_of_network(settings.network_id)
        return want.Vip(subnet, settings.network_id, settings.port_id, address)

    @staticmethod
    def _address(prepared: Reconcile, refs: dict[str, Any]) -> str | None:
        """The public floating IP (known to the plan, or made by it), else the VIP."""
        if not prepared.settings.internal:
            fip = refs.get("fip")
            return str(fip["floating_ip_address"]) if fip else prepared.address
        lb = refs.get("lb") or prepared.observed.lb
        return str(lb["vip_address"]) if lb else None


def _ports(request: LoadBalancerRequest) -> tuple[PortStatus, ...]:
    return tuple(PortStatus(p.port, p.protocol) for p in request.ports)


def _status(address: str | None, settings: Settings | None, ports: tuple[PortStatus, ...]) -> LoadBalancerStatus:
    if not address:
        return LoadBalancerStatus()
    if settings is not None and settings.hostname:
        return LoadBalancerStatus((Ingress(hostname=settings.hostname, ports=ports),))
    if settings is not None and settings.ingress_hostname_suffix:
        return LoadBalancerStatus((Ingress(hostname=f"{address}.{settings.ingress_hostname_suffix}", ports=ports),))
    return LoadBalancerStatus((Ingress(ip=address, ports=ports),))
