"""The planning capability: what the next ensure would send (live), or everything from scratch (offline)."""

from __future__ import annotations

from providers.openstack import desired as want
from providers.openstack.clients import translated_errors
from providers.openstack.config import OpenStackConfig
from providers.openstack.loadbalancer import OpenStackLoadBalancer
from providers.openstack.plan import Observed, plan
from providers.openstack.settings import settings_from_request
from providers.port import LoadBalancerRequest, Plan, Planner


class OpenStackPlanner(Planner):
    """``lb`` is None for a cloud built offline (``ProviderContext.offline``): then only
    :meth:`plan_offline` works, from the configuration alone."""

    def __init__(self, lb: OpenStackLoadBalancer | None, config: OpenStackConfig) -> None:
        self.lb = lb
        self.config = config

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        """Members on each node's first InternalIP; the VIP on the configured subnet, as ``<subnet>`` otherwise."""
        settings = settings_from_request(request, self.config)
        members = {n.name: a for n in request.nodes if (a := n.address_of("InternalIP"))}
        vip = want.Vip(settings.subnet_id or "<subnet>", settings.network_id, settings.port_id,
                       request.requested_ip if settings.internal else None)
        family = 6 if request.ip_families[:1] == ("IPv6",) else 4
        desired = want.build(request, settings, members=members, member_subnet_id=settings.member_subnet_id or None,
                             vip=vip, vip_family=family, floating_subnet_id=settings.floating_subnet_id or None)
        return plan(desired, Observed()).operations

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        if self.lb is None:
            raise RuntimeError("this OpenStack cloud was built for offline planning only")
        settings = settings_from_request(request, self.config)
        with translated_errors(request.key, "plan"):
            return self.lb.prepare(request, settings, node_sync=False).operations
