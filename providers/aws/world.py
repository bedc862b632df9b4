"""What a load balancer is built from in EC2: instances behind it, subnets, node security groups.

Read-only: the describe calls and pure selection rules (subnet choice, node group choice)
that both the Classic ELB and the NLB flows share.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from providers.aws.clients import Clients
from providers.aws.names import ROLE_ELB_TAG, ROLE_INTERNAL_ELB_TAG, cluster_tag, tag_dict
from providers.port import Node, UserError

log = logging.getLogger(__name__)

CLUSTER_TAG_VALUES = ("owned", "shared")


@dataclasses.dataclass(frozen=True)
class Instance:
    id: str
    vpc_id: str
    zone: str
    security_groups: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Subnet:
    id: str
    zone: str
    cidr: str
    vpc_id: str
    tags: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class World:
    instances: tuple[Instance, ...]
    subnets: tuple[Subnet, ...]
    #: node security group id -> its IpPermissions (the groups that get rules)
    node_groups: Mapping[str, Sequence[Mapping[str, Any]]]
    #: every cluster-tagged group's IpPermissions, to find stale rules on groups no longer used
    cluster_groups: Mapping[str, Sequence[Mapping[str, Any]]]

    @property
    def all_groups(self) -> dict[str, Sequence[Mapping[str, Any]]]:
        return {**self.cluster_groups, **self.node_groups}

    @property
    def instance_ids(self) -> tuple[str, ...]:
        return tuple(sorted(i.id for i in self.instances))


def instance_id(provider_id: str) -> str | None:
    """``aws:///us-east-1a/i-0abc`` (or ``aws:///i-0abc``) -> ``i-0abc``; None when not an AWS id."""
    if not provider_id.startswith("aws://"):
        return None
    last = provider_id.rstrip("/").rsplit("/", 1)[-1]
    return last if last.startswith("i-") else None


def node_matches(node: Node, labels: Mapping[str, str]) -> bool:
    """target-node-labels: every pair must match; a key with an empty value only has to exist."""
    return all(k in node.labels and (v == "" or node.labels[k] == v) for k, v in labels.items())


def target_instance_ids(nodes: Iterable[Node], labels: Mapping[str, str]) -> list[str]:
    ids = {instance_id(n.provider_id) for n in nodes if node_matches(n, labels)}
    return sorted(i for i in ids if i)


def choose_subnets(subnets: Iterable[Subnet], cluster: str, internal: bool) -> list[Subnet]:
    """Upstream's choice: role-tagged, ours or unclaimed by any cluster, one per zone.

    Tie-break within a zone: the cluster tag, then the lowest id (deterministic on every call).
    """
    role = ROLE_INTERNAL_ELB_TAG if internal else ROLE_ELB_TAG
    mine = cluster_tag(cluster)
    best: dict[str, Subnet] = {}
    for s in subnets:
        if role not in s.tags:
            continue
        claimed = [k for k in s.tags if k.startswith("kubernetes.io/cluster/")]
        if claimed and mine not in claimed:
            continue
        cur = best.get(s.zone)
        if cur is None or (mine not in s.tags, s.id) < (mine not in cur.tags, cur.id):
            best[s.zone] = s
    return [best[z] for z in sorted(best)]


def choose_node_groups(instances: Iterable[Instance], group_tags: Mapping[str, Mapping[str, str]],
                       cluster: str) -> list[str]:
    """Per instance: its only group, else its cluster-tagged groups (upstream findSecurityGroupForInstance)."""
    tag = cluster_tag(cluster)
    out: set[str] = set()
    for inst in instances:
        if len(inst.security_groups) == 1:
            out.add(inst.security_groups[0])
            continue
        tagged = [g for g in inst.security_groups if tag in group_tags.get(g, {})]
        if not tagged:
            log.warning("instance %s: several security groups and none tagged %s; no rules added", inst.id, tag)
        out.update(tagged)
    return sorted(out)


def describe_instances(clients: Clients, ids: Sequence[str]) -> list[Instance]:
    """Running or pending instances among ``ids`` (a filter, so an unknown id is skipped, not fatal)."""
    if not ids:
        return []
    out = []
    pages = clients.ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "instance-id", "Values": list(ids)},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ])
    for page in pages:
        for res in page.get("Reservations", ()):
            for i in res.get("Instances", ()):
                out.append(Instance(i["InstanceId"], i.get("VpcId", ""), i.get("Placement", {}).get(
                    "AvailabilityZone", ""), tuple(g["GroupId"] for g in i.get("SecurityGroups", ()))))
    return sorted(out, key=lambda i: i.id)


def _subnets(clients: Clients, filters: list[dict[str, Any]]) -> list[Subnet]:
    resp = clients.ec2.describe_subnets(Filters=filters)
    return [Subnet(s["SubnetId"], s["AvailabilityZone"], s.get("CidrBlock", ""), s.get("VpcId", ""),
                   tag_dict(s.get("Tags"))) for s in resp.get("Subnets", ())]


def describe_subnets(clients: Clients, cluster: str, vpc_id: str | None, internal: bool) -> list[Subnet]:
    role = ROLE_INTERNAL_ELB_TAG if internal else ROLE_ELB_TAG
    filters = [{"Name": "tag-key", "Values": [role]}]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    return choose_subnets(_subnets(clients, filters), cluster, internal)


def resolve_subnets(clients: Clients, key: str, items: Sequence[str], vpc_id: str | None) -> list[Subnet]:
    """The subnets annotation: ids or Name tags, and every item must resolve to one subnet (upstream)."""
    ids = [i for i in items if i.startswith("subnet-")]
    names = [i for i in items if not i.startswith("subnet-")]
    vpc = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    found = _subnets(clients, [{"Name": "subnet-id", "Values": ids}, *vpc]) if ids else []
    if names:
        found += _subnets(clients, [{"Name": "tag:Name", "Values": names}, *vpc])
    by_item = {s.id: s for s in found} | {s.tags.get("Name", ""): s for s in found}
    missing = [i for i in items if i not in by_item]
    if missing or len({s.id for s in found}) != len(items):
        raise UserError(f"{key}: subnets {', '.join(missing) or ', '.join(items)} did not resolve to "
                        f"{len(items)} distinct subnets (ids or Name tags)", reason="SubnetNotFound")
    return [by_item[i] for i in items]


def describe_groups(clients: Clients, *, ids: Sequence[str] = (), cluster: str | None = None) -> list[dict[str, Any]]:
    if cluster is not None:
        kwargs: dict[str, Any] = {"Filters": [{"Name": "tag-key", "Values": [cluster_tag(cluster)]}]}
    elif ids:
        # a filter, not GroupIds: a group deleted meanwhile (another Service's) is skipped, not an error
        kwargs = {"Filters": [{"Name": "group-id", "Values": list(ids)}]}
    else:
        return []
    return [g for page in clients.ec2.get_paginator("describe_security_groups").paginate(**kwargs)
            for g in page.get("SecurityGroups", ())]


def observe_world(clients: Clients, key: str, cluster: str, nodes: Sequence[Node], *, labels: Mapping[str, str],
                  internal: bool, vpc_hint: str | None, subnets: Sequence[str] = ()) -> World:
    ids = target_instance_ids(nodes, labels)
    instances = describe_instances(clients, ids)
    if len(instances) < len(ids):
        missing = sorted(set(ids) - {i.id for i in instances})
        log.warning("%s: instances not found or not running, not registered: %s", key, ", ".join(missing))
    vpcs = {i.vpc_id for i in instances if i.vpc_id}
    vpc_id = vpc_hint or (sorted(vpcs)[0] if vpcs else None)
    chosen = resolve_subnets(clients, key, subnets, vpc_id) if subnets else \
        describe_subnets(clients, cluster, vpc_id, internal)
    cluster_groups = {g["GroupId"]: g for g in describe_groups(clients, cluster=cluster)}
    wanted = {g for i in instances for g in i.security_groups}
    untagged = sorted(wanted - set(cluster_groups))
    others = {g["GroupId"]: g for g in describe_groups(clients, ids=untagged)} if untagged else {}
    everything = {**others, **cluster_groups}
    node_ids = choose_node_groups(instances, {g: tag_dict(v.get("Tags")) for g, v in everything.items()}, cluster)
    return World(
        instances=tuple(instances),
        subnets=tuple(chosen),
        node_groups={g: everything[g].get("IpPermissions", []) for g in node_ids if g in everything},
        cluster_groups={g: v.get("IpPermissions", []) for g, v in cluster_groups.items()},
    )


def require_subnets(world: World, key: str, internal: bool) -> None:
    if not world.subnets:
        role = ROLE_INTERNAL_ELB_TAG if internal else ROLE_ELB_TAG
        raise UserError(f"{key}: no subnets tagged {role} for this cluster were found", reason="NoSubnets")


def observe_groups(clients: Clients, cluster: str, nodes: Sequence[Node], referencing: Sequence[str] = ()
                   ) -> dict[str, Sequence[Mapping[str, Any]]]:
    """Every group that may hold our node rules, for deletion: cluster-tagged ones, the nodes' own,
    and any group with a rule admitting one of ``referencing`` (AWS refuses to delete a referenced group)."""
    groups = {g["GroupId"]: g.get("IpPermissions", []) for g in describe_groups(clients, cluster=cluster)}
    if referencing:
        resp = clients.ec2.describe_security_groups(
            Filters=[{"Name": "ip-permission.group-id", "Values": list(referencing)}])
        groups.update({g["GroupId"]: g.get("IpPermissions", []) for g in resp.get("SecurityGroups", ())})
    instances = describe_instances(clients, target_instance_ids(nodes, {}))
    extra = sorted({g for i in instances for g in i.security_groups} - set(groups))
    groups.update({g["GroupId"]: g.get("IpPermissions", []) for g in describe_groups(clients, ids=extra)})
    return groups


def offline_world(nodes: Sequence[Node], *, labels: Mapping[str, str], internal: bool, subnets: Sequence[str],
                  count: int = 1) -> World:
    """The world as far as it can be known without a call (offline planning).

    Instance ids come from the nodes' providerIDs; subnets are the annotation's items or
    ``count`` placeholders for the discovered ones; the node groups are one placeholder.
    """
    role = ROLE_INTERNAL_ELB_TAG if internal else ROLE_ELB_TAG
    node_group = "<node security groups>"
    instances = tuple(Instance(i, "<vpc>", "", (node_group,)) for i in target_instance_ids(nodes, labels))
    names = list(subnets) or [f"<subnet {n} tagged {role}>" for n in range(1, max(1, count) + 1)]
    return World(
        instances=instances,
        subnets=tuple(Subnet(s, "", f"<cidr of {s}>", "<vpc of the nodes>", {}) for s in names),
        node_groups={node_group: []},
        cluster_groups={},
    )
