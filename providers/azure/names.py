"""Deterministic names, ARM IDs and ownership tags: the keys that find our resources after a crash.

Azure limits, next to the builders that must respect them: Microsoft.Network resource and child
names are 1-80 characters of letters, digits, ``_``, ``.`` and ``-``, starting with a letter or
digit and ending with a letter, digit or ``_``; tag names up to 512 characters, values up to 256
(case-insensitive keys).

What is ours, and how it is found again (upstream's scheme):

* the load balancers ``<cluster>`` and ``<cluster>-internal`` carry ``k8s-azure-cluster-name``;
* on them, a Service's frontend ``a<uid>`` (``a<uid>-<subnet>`` with a subnet annotation) and its
  rules and probes ``<frontend>-<Protocol>-<port>``: every child named ``a<uid>`` or
  ``a<uid>-...`` belongs to that Service (``belongs``);
* public IPs ``<cluster>-a<uid>`` carry ``k8s-azure-service: <ns>/<name>`` and
  ``k8s-azure-cluster-name``;
* NSG rules on the cluster security group are named ``a<uid>-...`` and carry the same two marks
  in their description (security rules have no tags).
"""

from __future__ import annotations

import re

from providers.adapter.naming import default_load_balancer_name
from providers.adapter.ownership import Owner

CLUSTER_TAG = "k8s-azure-cluster-name"
SERVICE_TAG = "k8s-azure-service"
DNS_LABEL_SERVICE_TAG = "k8s-azure-dns-label-service"
INTERNAL_SUFFIX = "-internal"
NAME_LIMIT = 80
#: a name some Service of some cluster made: "a" + 31 hex digits, alone or followed by "-..."
_SERVICE_CHILD = re.compile(r"^a[0-9a-f]{31}(-|$)")

#: resource types as ``ccm plan`` prints them
LOAD_BALANCER = "azure/load-balancer"
PUBLIC_IP = "azure/public-ip"
SECURITY_GROUP = "azure/network-security-group"
NETWORK_INTERFACE = "azure/network-interface"
FRONTEND = "azure/frontend-ip-configuration"
RULE = "azure/load-balancing-rule"
PROBE = "azure/probe"
SECURITY_RULE = "azure/security-rule"


def service_base(uid: str) -> str:
    """``a<uid>`` (upstream ``DefaultLoadBalancerName``): the prefix of every child of one Service."""
    return default_load_balancer_name(uid)


def load_balancer_name(cluster: str, internal: bool) -> str:
    return cluster + (INTERNAL_SUFFIX if internal else "")


def pool_name(cluster: str) -> str:
    """The backend pool every Service on a load balancer shares."""
    return cluster


def frontend_name(uid: str, subnet: str | None = None) -> str:
    base = service_base(uid)
    return _fit(f"{base}-{subnet}" if subnet else base)


def rule_name(frontend: str, protocol: str, port: int) -> str:
    """``a<uid>-TCP-80`` (rule and probe alike); the frontend part is cut to stay within 80."""
    tail = f"-{protocol.upper()}-{port}"
    return frontend[:NAME_LIMIT - len(tail)] + tail


def ha_rule_name(frontend: str) -> str:
    return rule_name(frontend, "HA", 0)


def public_ip_name(cluster: str, uid: str) -> str:
    return _fit(f"{cluster}-{service_base(uid)}")


def security_rule_name(uid: str, protocol: str, source: str) -> str:
    """``a<uid>-TCP-Internet``, ``a<uid>-UDP-ranges``, ``a<uid>-deny-all``."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", source)
    return _fit(f"{service_base(uid)}-{protocol}-{clean}" if protocol else f"{service_base(uid)}-{clean}")


def belongs(name: str, uid: str) -> bool:
    """Whether a load-balancer child or security rule is one of this Service's (by name)."""
    base = service_base(uid)
    return name == base or name.startswith(base + "-")


def service_child(name: str) -> str | None:
    """The ``a<uid>`` base of a name some Service made, or None for a name no Service makes."""
    m = _SERVICE_CHILD.match(name)
    return name[:32] if m else None


def ownership_tags(owner: Owner) -> dict[str, str]:
    return {SERVICE_TAG: owner.service, CLUSTER_TAG: owner.cluster}


def description_of(owner: Owner) -> str:
    """The ownership marks of a security rule (its only free-text field, 140 characters)."""
    return f"{SERVICE_TAG}={owner.service},{CLUSTER_TAG}={owner.cluster}"[:140]


def owner_in_description(description: str | None) -> Owner | None:
    marks = dict(part.partition("=")[::2] for part in (description or "").split(","))
    if marks.get(SERVICE_TAG) is None or marks.get(CLUSTER_TAG) is None:
        return None
    return Owner(marks[CLUSTER_TAG], marks[SERVICE_TAG])


def tag_value(tags: dict[str, str] | None, key: str) -> str | None:
    """A tag by case-insensitive key (Azure tag names are)."""
    for k, v in (tags or {}).items():
        if k.lower() == key.lower():
            return v
    return None


def is_owned(tags: dict[str, str] | None, owner: Owner) -> bool:
    """Tagged for this cluster and this Service (a shared service list ``a,b`` counts too)."""
    services = [s.strip() for s in (tag_value(tags, SERVICE_TAG) or "").split(",")]
    return tag_value(tags, CLUSTER_TAG) == owner.cluster and owner.service in services


def _fit(name: str) -> str:
    return name[:NAME_LIMIT]


# ---- ARM IDs ---------------------------------------------------------------------------------

def resource_id(subscription: str, group: str, namespace: str, rtype: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{rtype}/{name}"


def network_id(subscription: str, group: str, rtype: str, name: str) -> str:
    return resource_id(subscription, group, "Microsoft.Network", rtype, name)


def child_id(parent: str, child_type: str, name: str) -> str:
    return f"{parent}/{child_type}/{name}"


def same_id(a: str | None, b: str | None) -> bool:
    """ARM IDs compare without regard to case."""
    return a is not None and b is not None and a.rstrip("/").lower() == b.rstrip("/").lower()


def parse_id(text: str) -> dict[str, str]:
    """``subscription``, ``group``, ``type`` (last type segment) and ``name`` of an ARM ID ({} if not one)."""
    parts = text.strip("/").split("/")
    if len(parts) < 8 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups":
        return {}
    return {"subscription": parts[1], "group": parts[3], "type": parts[-2], "name": parts[-1]}


def vm_id_of(provider_id: str) -> str | None:
    """The VM's ARM ID from a Node's ``azure:///subscriptions/.../virtualMachines/<name>``."""
    if not provider_id.lower().startswith("azure://"):
        return None
    path = provider_id[len("azure://"):]
    parsed = parse_id(path)
    if not parsed or parsed["type"].lower() != "virtualmachines":
        return None
    return "/" + path.strip("/")
