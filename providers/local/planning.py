"""The local cloud's planning capability."""

from __future__ import annotations

from providers.local.loadbalancer import LocalLoadBalancer
from providers.local.operations import assign_vip
from providers.local.plan import node_ips, plan_listeners, wanted_listeners
from providers.port import LoadBalancerRequest, Plan, Planner


class LocalPlanner(Planner):
    def __init__(self, lb: LocalLoadBalancer) -> None:
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        """A VIP (the requested one, else the first free one of the pool), then a listener per port to
        every node with an address (health is not known offline)."""
        vip = request.requested_ip or f"<first free VIP of {self.lb.options.vip_pool}>"
        wanted, _, _ = wanted_listeners(request, node_ips(request.nodes))
        return (assign_vip(vip, request.uid, request.key), *plan_listeners(vip, {}, wanted))

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        return self.lb.plan_live(request)
