"""The planning capability: what the next ensure would send (live), or everything from scratch (offline)."""

from __future__ import annotations

from providers.aws.clients import translated_errors
from providers.aws.kinds import FULL, TypePlan
from providers.aws.loadbalancer import KINDS, AwsLoadBalancer
from providers.aws.names import load_balancer_name, owner_of
from providers.aws.operations import AwsCall
from providers.aws.rules import Groups
from providers.aws.settings import check_settings, settings_from_request
from providers.aws.world import offline_world
from providers.port import LoadBalancerRequest, Plan, Planner


def _with_rules(planned: TypePlan, groups: Groups) -> tuple[AwsCall, ...]:
    """The plan's calls, then its node-group rules (a group it creates shown as ``<sg>``)."""
    return (*planned.operations, *planned.node_rules.resolved({}, placeholders=True).plan(groups))


class AwsPlanner(Planner):
    def __init__(self, lb: AwsLoadBalancer) -> None:
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        settings = settings_from_request(request)
        kind = KINDS[settings.lb_type]
        check_settings(settings, kind.kind, settings.internal)
        world = offline_world(request.nodes, labels=settings.target_node_labels, internal=settings.internal,
                              subnets=settings.subnets,
                              count=max(len(settings.eip_allocations), len(settings.private_ipv4_addresses)))
        name = load_balancer_name(request)
        planned = kind.plan(kind.desired(request, settings, world, name), kind.nothing(owner_of(request), name))
        return _with_rules(planned, {})

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        settings = settings_from_request(request)
        with translated_errors(request.key, "plan"):
            prepared = self.lb.prepare(request, settings, FULL)
        assert prepared is not None  # only node sync gets None
        return _with_rules(prepared.plan, prepared.world.all_groups)
