"""The planning capability: what the next ensure would send (live), or everything from scratch (offline)."""

from __future__ import annotations

from providers.gcp.clients import translated_errors
from providers.gcp.desired import desired
from providers.gcp.groups import Group, plan_groups
from providers.gcp.kinds import KINDS
from providers.gcp.loadbalancer import GcpLoadBalancer, owner_of
from providers.gcp.observe import NOTHING
from providers.gcp.plan import plan_firewalls, plan_load_balancer
from providers.gcp.settings import settings_from_request
from providers.gcp.world import hosts_of
from providers.port import LoadBalancerRequest, Plan, Planner

#: firewall targets when gce.conf names no node tags (they come from the instances then)
TAGS_PLACEHOLDER = ("<node-tags>",)


class GcpPlanner(Planner):
    def __init__(self, lb: GcpLoadBalancer) -> None:
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        settings = settings_from_request(request)
        lb, groups = self.lb.name(request), self.lb.groups
        hosts, _ = hosts_of(request.nodes, self.lb.config.project)
        zones = tuple(sorted({h.zone for h in hosts}))
        tags = tuple(sorted(self.lb.config.node_tags)) or TAGS_PLACEHOLDER
        d = desired(request, settings, self.lb.config, kind=KINDS[settings.scheme], lb=lb, zones=zones,
                    tags=tags, group_path=groups.path)
        group_ops = plan_groups(groups.name, self.lb.cluster, hosts, {z: Group(z, exists=False) for z in zones},
                                owner_of(request))
        first = plan_load_balancer(d, NOTHING, self.lb.config)
        return (*group_ops, *first.operations, *plan_firewalls(d, NOTHING, self.lb.config))

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        lb = self.lb
        with translated_errors(request.key, "plan"):
            d, o, _ = lb.prepare(request, sync_groups=False)
            hosts, _ = hosts_of(request.nodes, lb.config.project)
            observed_groups = lb.groups.observe({h.zone for h in hosts}, fresh=True)
            group_ops = plan_groups(lb.groups.name, lb.cluster, hosts, observed_groups, owner_of(request))
            first = plan_load_balancer(d, o, lb.config)
            # the firewalls as they would be planned if nothing before them changed the IP
            return (*group_ops, *first.operations, *plan_firewalls(d, o, lb.config))
