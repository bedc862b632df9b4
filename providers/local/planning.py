"""The local cloud's planning capability."""

from __future__ import annotations

from providers.local.loadbalancer import LocalLoadBalancer
from providers.local.operations import assign_vip
from providers.local.options import LocalOptions
from providers.local.plan import node_ips, plan_listeners, wanted_listeners
from providers.port import LoadBalancerRequest, Plan, Planner


class LocalPlanner(Planner):
    """``lb`` is None for a cloud built offline (``ProviderContext.offline``): then only
    :meth:`plan_offline` works, from the options alone."""

    def __init__(self, options: LocalOptions, lb: LocalLoadBalancer | None) -> None:
        self.options = options
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        """A VIP (the requested one, else the first free one of the pool), then a listener per port to
        every node with an address (health is not known offline)."""
        vip = request.requested_ip or f"<first free VIP of {self.options.vip_pool}>"
        wanted, _, _ = wanted_listeners(request, node_ips(request.nodes))
        return (assign_vip(vip, request.uid, request.key), *plan_listeners(vip, {}, wanted))

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        if self.lb is None:
            raise RuntimeError("this local cloud was built for offline planning only")
        return self.lb.plan_live(request)
