"""Deterministic names and ownership tags: how our Octavia and Neutron resources are found again.

Octavia and Neutron tags are plain strings (at most 255 characters, no commas for filtering), so
the ownership marks are ``key=value`` strings:

* ``kubernetes.io/cluster=<cluster>`` and ``kubernetes.io/service=<namespace>/<name>`` on the load
  balancer and on every floating IP ccm allocates;
* upstream's own mark, the load-balancer name as a tag (``kube_service_<cluster>_<namespace>_<name>``),
  also on the load balancer, so a cluster moving from cloud-provider-openstack keeps its load
  balancers (an upstream-made one carries only that tag and is ours by upstream's rule).

A resource without these marks is never modified or deleted, whatever its name. Names: upstream's
load-balancer name (cut to Octavia's 255 characters); listeners, pools and monitors are named by
protocol and port rather than upstream's position index, so reordering ports renames nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from providers.adapter.ownership import Owner
from providers.port import LoadBalancerRequest

NAME_LIMIT = 255
CLUSTER_TAG = "kubernetes.io/cluster="
SERVICE_TAG = "kubernetes.io/service="
#: upstream's floating-IP description, also accepted as its ownership mark
FIP_DESCRIPTION = "Floating IP for Kubernetes external service {service} from cluster {cluster}"


def load_balancer_name(cluster: str, service: str) -> str:
    """Upstream ``kube_service_<cluster>_<namespace>_<name>`` (Octavia names: at most 255 characters)."""
    namespace, _, name = service.partition("/")
    return f"kube_service_{cluster}_{namespace}_{name}"[:NAME_LIMIT]


def request_name(request: LoadBalancerRequest) -> str:
    return load_balancer_name(request.cluster_name, request.key)


def owner_of(request: LoadBalancerRequest) -> Owner:
    return Owner(request.cluster_name, request.key)


def ownership_tags(owner: Owner) -> tuple[str, ...]:
    """The marks on every resource ccm makes for ``owner``."""
    return (CLUSTER_TAG + owner.cluster, SERVICE_TAG + owner.service)


def lb_tags(owner: Owner) -> tuple[str, ...]:
    """The load balancer's tags: ours plus upstream's (its name)."""
    return (load_balancer_name(owner.cluster, owner.service), *ownership_tags(owner))


def is_owned_lb(name: str, tags: Iterable[str], owner: Owner) -> bool:
    """Ours: both ownership marks, or upstream's mark (its own name as a tag) when the name is ours."""
    have = set(tags)
    expected = load_balancer_name(owner.cluster, owner.service)
    return set(ownership_tags(owner)) <= have or (name == expected and expected in have)


def is_owned_fip(tags: Iterable[str], description: str, owner: Owner) -> bool:
    return set(ownership_tags(owner)) <= set(tags) or description == fip_description(owner)


def fip_description(owner: Owner) -> str:
    return FIP_DESCRIPTION.format(service=owner.service, cluster=owner.cluster)


def service_of(tags: Iterable[str], cluster: str) -> str | None:
    """The Service key in our marks when ``tags`` carry this cluster's, else None."""
    have = set(tags)
    if CLUSTER_TAG + cluster not in have:
        return None
    return next((t[len(SERVICE_TAG):] for t in have if t.startswith(SERVICE_TAG)), "")


def child_name(kind: str, protocol: str, port: int, lb_name: str) -> str:
    """``listener_tcp_80_<lb>``, ``pool_udp_53_<lb>``, ``monitor_tcp_80_<lb>`` (255-character limit)."""
    return f"{kind}_{protocol.lower()}_{port}_{lb_name}"[:NAME_LIMIT]


def provider_id(server_id: str) -> str:
    return f"openstack:///{server_id}"


def server_id_of(provider_id_text: str) -> str:
    """The server id in ``openstack:///<id>`` or ``openstack://<region>/<id>``; ValueError otherwise."""
    text = provider_id_text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme != "openstack":
        raise ValueError(f"provider id {provider_id_text!r}: not openstack://")
    server = rest.rsplit("/", 1)[-1]
    if not server:
        raise ValueError(f"provider id {provider_id_text!r}: no server id")
    return server
