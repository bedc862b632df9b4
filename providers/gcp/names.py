"""Resource names (upstream cloud-provider-gcp's, so clusters migrated from the Go CCM keep theirs)
and the ownership record every resource carries in its ``description``.

Compute Engine names are RFC 1035 labels: a lower-case letter, then letters, digits and dashes,
at most 63 characters. ``lb`` is upstream ``DefaultLoadBalancerName`` (``a`` + uid without
dashes, 32 characters), so every per-Service name below fits; the cluster id is the
``--cluster-name``, lower-cased and cut so the shared names fit too.

Resources have no labels here (forwarding rules and addresses do, the rest do not), so
ownership is a JSON object in ``description``, as upstream writes it:
``{"kubernetes.io/service-name": "ns/name", "kubernetes.io/cluster-id": "<cluster>"}``. A
resource of a migrated cluster carries only the Service name; it is adopted when that matches
(its name is derived from the Service's uid, so a collision is not plausible). Shared resources
(the node health check, its firewall, the instance groups) carry only the cluster id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from providers.adapter.naming import default_load_balancer_name
from providers.adapter.ownership import Owner

SERVICE_KEY = "kubernetes.io/service-name"
CLUSTER_KEY = "kubernetes.io/cluster-id"
SERVICE_IP_KEY = "kubernetes.io/service-ip"

#: upstream's kube-proxy health check for externalTrafficPolicy: Cluster
NODE_HEALTH_PORT = 10256
NODE_HEALTH_PATH = "/healthz"
#: the ranges Google's health checkers and passthrough load balancers probe from
#: (upstream --cloud-provider-gce-lb-src-cidrs and the L4 health-check ranges)
HEALTH_CHECK_RANGES = ("130.211.0.0/22", "35.191.0.0/16", "209.85.152.0/22", "209.85.204.0/22")


def cluster_id(cluster_name: str) -> str:
    """The cluster id in names: a valid label fragment of at most 40 characters."""
    cid = re.sub(r"[^a-z0-9-]", "-", cluster_name.lower()).strip("-")
    return cid[:40] or "kubernetes"


def load_balancer_name(uid: str) -> str:
    return default_load_balancer_name(uid)


def forwarding_rule_name(lb: str, protocol: str) -> str:
    """TCP keeps upstream's name (the load balancer's); UDP, which upstream never paired with TCP,
    gets ``<lb>-udp``."""
    return lb if protocol == "TCP" else f"{lb}-{protocol.lower()}"


def firewall_name(lb: str) -> str:
    return f"k8s-fw-{lb}"


def instance_group_name(cluster: str) -> str:
    return f"k8s-ig--{cluster_id(cluster)}"


def node_health_check_name(cluster: str) -> str:
    return f"k8s-{cluster_id(cluster)}-node"


def health_check_firewall_name(lb: str, cluster: str, *, local: bool, internal: bool) -> str:
    """Upstream's names: NetLB ``k8s-<lb>-http-hc`` / ``k8s-<cluster>-node-http-hc``,
    ILB ``<lb>-hc`` / ``k8s-<cluster>-node-hc``."""
    if internal:
        return f"{lb}-hc" if local else f"{node_health_check_name(cluster)}-hc"
    return f"k8s-{lb}-http-hc" if local else f"{node_health_check_name(cluster)}-http-hc"


def all_names(lb: str) -> tuple[str, ...]:
    """Every per-Service name a load balancer may use (for the reads that find them)."""
    return (lb, forwarding_rule_name(lb, "UDP"), firewall_name(lb), f"k8s-{lb}-http-hc", f"{lb}-hc")


# --- ownership ----------------------------------------------------------------------------------


def service_description(owner: Owner, **extra: str) -> str:
    return json.dumps({SERVICE_KEY: owner.service, CLUSTER_KEY: cluster_id(owner.cluster), **extra},
                      sort_keys=True)


def cluster_description(cluster: str) -> str:
    return json.dumps({CLUSTER_KEY: cluster_id(cluster)}, sort_keys=True)


def marks(description: str | None) -> dict[str, str]:
    """The ownership JSON of a description ({} when it is not one)."""
    try:
        value = json.loads(description or "")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def owned_by_service(resource: Mapping[str, object], owner: Owner) -> bool:
    """Ours for this Service: the Service name matches and the cluster id, if recorded, is ours."""
    m = marks(str(resource.get("description") or ""))
    return m.get(SERVICE_KEY) == owner.service and m.get(CLUSTER_KEY, cluster_id(owner.cluster)) == cluster_id(
        owner.cluster)


def owned_by_cluster(resource: Mapping[str, object], cluster: str, *, adopt_blank: bool = False) -> bool:
    """A shared resource of this cluster; ``adopt_blank`` also accepts an empty description (upstream
    writes none on the node health check and the instance groups)."""
    description = str(resource.get("description") or "")
    if not description:
        return adopt_blank
    return marks(description).get(CLUSTER_KEY) == cluster_id(cluster)


def service_of(resource: Mapping[str, object], cluster: str) -> str | None:
    """The Service key a resource is owned for by this cluster, "" for a shared one, None if not ours."""
    m = marks(str(resource.get("description") or ""))
    if m.get(CLUSTER_KEY) != cluster_id(cluster):
        return None
    return m.get(SERVICE_KEY, "")
