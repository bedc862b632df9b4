"""The inventory capability: every ELB, NLB, target group, security group and node-group rule this
cluster owns, by ownership tags and rule marks alone, and deletion of what a Service key owns.

Read-only listing: every Classic ELB and ELBv2 load balancer and target group of the region
with their tags (20 per ``DescribeTags``), the security groups tagged for this cluster and a
Service, and the rules carrying our marks in the cluster-tagged groups (plus any rule
admitting one of our groups, wherever it is). Rules name a load balancer, not a Service: they
are attributed through the load balancer's other resources, else listed under ``""``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from providers.adapter.ownership import Owner
from providers.aws.apply import apply
from providers.aws.clients import translated_errors
from providers.aws.loadbalancer import AwsLoadBalancer
from providers.aws.names import (
    CLB_NODE_RULE_MARK,
    NLB_CLIENT_RULE_MARK,
    NLB_HEALTH_RULE_MARK,
    NLB_MTU_RULE_MARK,
    SERVICE_NAME_TAG,
    cluster_tag,
    security_group_name,
    tag_dict,
)
from providers.aws.operations import CLB, NLB, SECURITY_GROUP, TARGET_GROUP, call
from providers.aws.rules import observed_rules
from providers.aws.world import describe_groups
from providers.port import Inventory, OwnedResource, Resource

_MARKS = (CLB_NODE_RULE_MARK, NLB_CLIENT_RULE_MARK, NLB_HEALTH_RULE_MARK, NLB_MTU_RULE_MARK)
NODE_RULE = "ec2/security-group-rule"
_SG_PREFIX = security_group_name("")


@dataclasses.dataclass(frozen=True)
class Holding:
    """One owned resource and what deleting it needs."""

    resource: Resource
    service: str
    #: the load balancer it belongs to, when its name says so
    lb_name: str | None = None
    #: ARN or group id, for the delete call
    ident: str = ""

    @property
    def owned(self) -> OwnedResource:
        return OwnedResource(self.resource, self.service)


def _chunks(items: Sequence[Any], size: int = 20) -> Iterable[Sequence[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))


class AwsInventory(Inventory):
    def __init__(self, lb: AwsLoadBalancer, cluster: str) -> None:
        self.lb = lb
        self.clients = lb.clients
        self.cluster = cluster

    def _ours(self, tags: dict[str, str]) -> str | None:
        """The Service key when ``tags`` say owned by this cluster, else None."""
        if tags.get(cluster_tag(self.cluster)) != "owned":
            return None
        return tags.get(SERVICE_NAME_TAG, "")

    def _load_balancers(self) -> tuple[list[Holding], dict[str, str]]:
        """Our ELBs and NLBs, and NLB ARN -> name for attributing target groups."""
        out: list[Holding] = []
        elb, elbv2 = self.clients.elb, self.clients.elbv2
        names = [d["LoadBalancerName"] for page in elb.get_paginator("describe_load_balancers").paginate()
                 for d in page.get("LoadBalancerDescriptions", ())]
        for chunk in _chunks(names):
            for d in elb.describe_tags(LoadBalancerNames=list(chunk))["TagDescriptions"]:
                service = self._ours(tag_dict(d.get("Tags")))
                if service is not None:
                    out.append(Holding(Resource(CLB, d["LoadBalancerName"]), service, d["LoadBalancerName"]))
        nlbs = {d["LoadBalancerArn"]: d["LoadBalancerName"]
                for page in elbv2.get_paginator("describe_load_balancers").paginate()
                for d in page.get("LoadBalancers", ()) if d.get("Type", "network") == "network"}
        for chunk in _chunks(list(nlbs)):
            for d in elbv2.describe_tags(ResourceArns=list(chunk))["TagDescriptions"]:
                service = self._ours(tag_dict(d.get("Tags")))
                if service is not None:
                    name = nlbs[d["ResourceArn"]]
                    out.append(Holding(Resource(NLB, name), service, name, d["ResourceArn"]))
        return out, nlbs

    def _target_groups(self, nlbs: dict[str, str]) -> list[Holding]:
        elbv2 = self.clients.elbv2
        tgs = {tg["TargetGroupArn"]: tg for page in elbv2.get_paginator("describe_target_groups").paginate()
               for tg in page.get("TargetGroups", ())}
        out = []
        for chunk in _chunks(list(tgs)):
            for d in elbv2.describe_tags(ResourceArns=list(chunk))["TagDescriptions"]:
                service = self._ours(tag_dict(d.get("Tags")))
                if service is None:
                    continue
                tg = tgs[d["ResourceArn"]]
                attached = [nlbs[a] for a in tg.get("LoadBalancerArns", ()) if a in nlbs]
                out.append(Holding(Resource(TARGET_GROUP, tg["TargetGroupName"]), service,
                                   attached[0] if attached else None, tg["TargetGroupArn"]))
        return out

    def _groups_and_rules(self, lb_services: dict[str, str]) -> list[Holding]:
        groups = describe_groups(self.clients, cluster=self.cluster)
        out: list[Holding] = []
        ours: dict[str, str] = {}  # our managed group id -> its Service
        for g in groups:
            tags = tag_dict(g.get("Tags"))
            service = self._ours(tags)
            if service and SERVICE_NAME_TAG in tags:
                name = g["GroupName"][len(_SG_PREFIX):] if g["GroupName"].startswith(_SG_PREFIX) else None
                out.append(Holding(Resource(SECURITY_GROUP, g["GroupId"]), service, name, g["GroupId"]))
                ours[g["GroupId"]] = service
                if name:
                    lb_services.setdefault(name, service)
        referencing = {}
        if ours:
            resp = self.clients.ec2.describe_security_groups(
                Filters=[{"Name": "ip-permission.group-id", "Values": sorted(ours)}])
            referencing = {g["GroupId"]: g for g in resp.get("SecurityGroups", ())}
        for g in {**{g["GroupId"]: g for g in groups}, **referencing}.values():
            for rule in sorted(observed_rules(g.get("IpPermissions", ()))):
                mark = next((m for m in _MARKS if rule.description.startswith(m)), None)
                if mark is None and rule.source not in ours:
                    continue
                lb_name = rule.description[len(mark):] if mark else None
                service = ours.get(rule.source) or lb_services.get(lb_name or "", "")
                text = f"{g['GroupId']}: {rule.protocol} {rule.from_port}-{rule.to_port} from {rule.source}"
                out.append(Holding(Resource(NODE_RULE, text), service, lb_name, g["GroupId"]))
        return out

    def holdings(self) -> list[Holding]:
        """Everything this cluster owns (read-only calls)."""
        with translated_errors(f"cluster {self.cluster}", "inventory"):
            lbs, nlbs = self._load_balancers()
            tgs = self._target_groups(nlbs)
            lb_services = {h.lb_name: h.service for h in (*lbs, *tgs) if h.lb_name}
            return [*lbs, *tgs, *self._groups_and_rules(lb_services)]

    def list_owned(self) -> tuple[OwnedResource, ...]:
        return tuple(h.owned for h in self.holdings())

    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        """Each load balancer name the Service's resources point to goes through the same deletion as
        ``LoadBalancer.delete``; target groups whose load balancer is unknown are deleted directly."""
        mine = [h for h in self.holdings() if h.service == service]
        owner = Owner(self.cluster, service)
        names = sorted({h.lb_name for h in mine if h.lb_name})
        with translated_errors(service or f"cluster {self.cluster}", "delete owned"):
            for name in names:
                self.lb.delete_named(name, owner)
            stray = [h for h in mine if h.resource.type == TARGET_GROUP
                     and not any(h.resource.name.startswith(n[:12] + "-") for n in names)]
            apply(self.clients, [call(TARGET_GROUP, h.resource.name, "elbv2", "delete_target_group",
                                      {"TargetGroupArn": h.ident}, ignore=("TargetGroupNotFound",))
                                 for h in stray], service)
        return tuple(h.owned for h in mine)
