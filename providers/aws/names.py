"""Deterministic names and ownership tags: the keys that find our resources after a crash.

AWS limits, next to the builders that must respect them:

* Classic ELB and ELBv2 load-balancer names: at most 32 characters, alphanumerics and hyphens,
  not starting or ending with a hyphen (``default_load_balancer_name`` gives "a" + 31 hex digits).
* Target-group names: at most 32 characters, alphanumerics and hyphens, no leading/trailing hyphen.
* Security-group names: at most 255 characters; "k8s-elb-" + 32 is the upstream name.
* Tags: keys up to 128 characters, values up to 256.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from providers.adapter.naming import bounded_name, default_load_balancer_name
from providers.adapter.ownership import Owner, owns
from providers.port import LoadBalancerRequest

SERVICE_NAME_TAG = "kubernetes.io/service-name"
CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
ROLE_ELB_TAG = "kubernetes.io/role/elb"
ROLE_INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
#: description marking node security-group rules one load balancer owns (value: load-balancer name)
CLB_NODE_RULE_MARK = "kubernetes.io/rule/elb="
NLB_HEALTH_RULE_MARK = "kubernetes.io/rule/nlb/health="
NLB_CLIENT_RULE_MARK = "kubernetes.io/rule/nlb/client="
NLB_MTU_RULE_MARK = "kubernetes.io/rule/nlb/mtu="

TARGET_GROUP_NAME_LIMIT = 32
#: three-letter protocol codes keep target-group names within the limit and free of "_"
_PROTOCOL_CODES = {"TCP": "tcp", "UDP": "udp", "TLS": "tls", "TCP_UDP": "tcu"}


def cluster_tag(cluster_name: str) -> str:
    return CLUSTER_TAG_PREFIX + cluster_name


def load_balancer_name(request: LoadBalancerRequest) -> str:
    """Upstream's ELB/NLB name: "a" + uid without dashes, 32 characters (the AWS limit)."""
    return default_load_balancer_name(request.uid)


def security_group_name(lb_name: str) -> str:
    """Upstream's managed ELB security group name (255-character limit, well within)."""
    return f"k8s-elb-{lb_name}"


def target_group_prefix(lb_name: str) -> str:
    """Every target group of one load balancer starts with this (12 characters + "-")."""
    return lb_name[:12] + "-"


def target_group_name(lb_name: str, port: int, protocol: str, node_port: int, hc_protocol: str) -> str:
    """``<lb[:12]>-<proto><port>-<hash10>``, at most 12+1+3+5+1+10 = 32 characters.

    The hash covers what a target group cannot change in place (its port and protocol) and the
    health-check protocol (not modifiable on older NLB target groups), so changing one of them
    makes a new target group, the listener switches to it, and the old one is deleted.
    """
    code = _PROTOCOL_CODES.get(protocol, protocol.lower()[:3])
    return bounded_name(target_group_prefix(lb_name), f"{code}{port}", lb_name, port, protocol, node_port,
                        hc_protocol, limit=TARGET_GROUP_NAME_LIMIT)


def owner_of(request: LoadBalancerRequest) -> Owner:
    return Owner(request.cluster_name, request.key)


def ownership_tags(owner: Owner) -> dict[str, str]:
    return {cluster_tag(owner.cluster): "owned", SERVICE_NAME_TAG: owner.service}


def is_owned(tags: Mapping[str, str], owner: Owner) -> bool:
    """Ours means tagged owned by this cluster and for this Service; anything else is foreign."""
    return owns(tags, ownership_tags(owner))


def tag_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """AWS ``[{"Key": k, "Value": v}]`` to a dict."""
    return {t["Key"]: t.get("Value", "") for t in tags or ()}


def first_tags(descriptions: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The tags of the one resource a ``DescribeTags`` call was asked about."""
    return tag_dict(descriptions[0].get("Tags") if descriptions else None)


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
