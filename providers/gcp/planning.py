"""The planning capability: what the next ensure would send (live), or everything from scratch (offline)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from providers.gcp import links
from providers.gcp.clients import translated_errors
from providers.gcp.config import PLACEHOLDER_PROJECT, PLACEHOLDER_REGION, GceConfig
from providers.gcp.desired import desired
from providers.gcp.groups import Group, plan_groups
from providers.gcp.kinds import KINDS
from providers.gcp.loadbalancer import GcpLoadBalancer, owner_of
from providers.gcp.names import instance_group_name, load_balancer_name
from providers.gcp.observe import NOTHING, Observed
from providers.gcp.plan import plan_firewalls, plan_load_balancer
from providers.gcp.settings import settings_from_request
from providers.gcp.world import host_of, hosts_of
from providers.port import LoadBalancerRequest, Node, Plan, Planner

#: firewall targets when gce.conf names no node tags (they come from the instances then)
TAGS_PLACEHOLDER = ("<node-tags>",)


def with_nodes_project(config: GceConfig, nodes: Iterable[Node]) -> GceConfig:
    """Offline: a placeholder project (region) is the one the nodes' ``gce://`` providerIDs (zones) agree on.

    The nodes are the cluster's, so their project is the one its load balancers live in; nodes of
    another project are left out of the plan, as ``ensure`` leaves them out.
    """
    hosts = [h for h in map(host_of, nodes) if h is not None]
    projects = {h.project for h in hosts}
    if config.project == PLACEHOLDER_PROJECT and len(projects) == 1:
        config = dataclasses.replace(config, project=projects.pop())
    regions = {h.zone.rsplit("-", 1)[0] for h in hosts if h.project == config.project}
    if config.region == PLACEHOLDER_REGION and len(regions) == 1:
        config = dataclasses.replace(config, region=regions.pop())
    return config


class GcpPlanner(Planner):
    """``lb`` is None for a cloud built offline (``ProviderContext.offline``): then only
    :meth:`plan_offline` works, from the configuration alone."""

    def __init__(self, config: GceConfig, cluster: str, lb: GcpLoadBalancer | None) -> None:
        self.config = config
        self.cluster = cluster
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        settings = settings_from_request(request)
        config = with_nodes_project(self.config, request.nodes)
        lb, group = load_balancer_name(request.uid), instance_group_name(self.cluster)
        hosts, _ = hosts_of(request.nodes, config.project)
        zones = tuple(sorted({h.zone for h in hosts}))
        tags = tuple(sorted(config.node_tags)) or TAGS_PLACEHOLDER
        d = desired(request, settings, config, kind=KINDS[settings.scheme], lb=lb, zones=zones, tags=tags,
                    group_path=lambda zone: links.zonal(config.project, zone, "instanceGroups", group))
        group_ops = plan_groups(group, self.cluster, hosts, {z: Group(z, exists=False) for z in zones},
                                owner_of(request))
        observed = NOTHING
        if d.requested_ip and d.kind.scheme != "INTERNAL":
            # an external loadBalancerIP must be an address the user reserved (ensure refuses it otherwise);
            # offline nothing is known of the project's addresses, so the plan assumes it is there
            observed = Observed(ip_address={"name": f"<reserved address {d.requested_ip}>",
                                            "address": d.requested_ip})
        first = plan_load_balancer(d, observed, config)
        return (*group_ops, *first.operations, *plan_firewalls(d, observed, config))

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        lb = self.lb
        if lb is None:
            raise RuntimeError("this GCP cloud was built for offline planning only")
        with translated_errors(request.key, "plan"):
            d, o, _ = lb.prepare(request, sync_groups=False)
            hosts, _ = hosts_of(request.nodes, lb.config.project)
            observed_groups = lb.groups.observe({h.zone for h in hosts}, fresh=True)
            group_ops = plan_groups(lb.groups.name, lb.cluster, hosts, observed_groups, owner_of(request))
            first = plan_load_balancer(d, o, lb.config)
            # the firewalls as they would be planned if nothing before them changed the IP
            return (*group_ops, *first.operations, *plan_firewalls(d, o, lb.config))
