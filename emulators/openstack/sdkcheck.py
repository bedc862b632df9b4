"""Request bodies checked against openstacksdk's resource definitions (``validate=True``).

openstacksdk drops a keyword it does not define without a word, so a client that builds a body
by hand (the batch member update, a fully populated load balancer) could send attributes no SDK
user would. This checker maps each mutating action to the SDK resource class and reports every
attribute that class does not define, recursing into the objects a fully populated create nests
(``listeners`` -> ``default_pool`` -> ``members``/``healthmonitor``).

The one nested key the SDK does not model but Octavia's single-call create takes is a pool's
``healthmonitor`` (the SDK only knows ``healthmonitor_id``); it is checked as a HealthMonitor.
Imports openstacksdk, so it is loaded only when validation is asked for (tests).
"""

from __future__ import annotations

from typing import Any

from openstack.load_balancer.v2 import health_monitor, listener, load_balancer, member, pool, quota
from openstack.network.v2 import floating_ip, network, port, security_group, security_group_rule, subnet
from openstack.resource import Resource

#: action prefix -> (body key, SDK resource class)
ACTIONS: dict[str, tuple[str, type[Resource]]] = {
    "octavia.loadbalancers": ("loadbalancer", load_balancer.LoadBalancer),
    "octavia.listeners": ("listener", listener.Listener),
    "octavia.pools": ("pool", pool.Pool),
    "octavia.members": ("member", member.Member),
    "octavia.healthmonitors": ("healthmonitor", health_monitor.HealthMonitor),
    "octavia.quotas": ("quota", quota.Quota),
    "neutron.networks": ("network", network.Network),
    "neutron.subnets": ("subnet", subnet.Subnet),
    "neutron.ports": ("port", port.Port),
    "neutron.floatingips": ("floatingip", floating_ip.FloatingIP),
    "neutron.security_groups": ("security_group", security_group.SecurityGroup),
    "neutron.security_group_rules": ("security_group_rule", security_group_rule.SecurityGroupRule),
}
#: (class, attribute) -> class of the nested objects (one object or a list of them)
NESTED: dict[tuple[type[Resource], str], type[Resource]] = {
    (load_balancer.LoadBalancer, "listeners"): listener.Listener,
    (load_balancer.LoadBalancer, "pools"): pool.Pool,
    (listener.Listener, "default_pool"): pool.Pool,
    (pool.Pool, "members"): member.Member,
    (pool.Pool, "healthmonitor"): health_monitor.HealthMonitor,
}


def known(cls: type[Resource]) -> set[str]:
    """The attribute names ``cls`` puts on the wire (its ``Body`` fields)."""
    return set(cls._body_mapping().keys())


class SdkChecker:
    def check(self, action: str, body: Any) -> list[str]:
        """Problems with ``body`` for ``action`` (empty: every attribute is one the SDK defines)."""
        prefix = action.rsplit(".", 1)[0]
        if action == "octavia.members.batch":
            items = body.get("members") if isinstance(body, dict) else None
            out: list[str] = []
            for i, item in enumerate(items or []):
                out += self._object(member.Member, item, f"members[{i}]")
            return out
        if action.startswith("neutron.") and ".tags." in action:
            return []
        entry = ACTIONS.get(prefix)
        if entry is None or not isinstance(body, dict):
            return []
        key, cls = entry
        return self._object(cls, body.get(key), key)

    def _object(self, cls: type[Resource], obj: Any, where: str) -> list[str]:
        if not isinstance(obj, dict):
            return []
        names = known(cls)
        out = [f"{where}.{k} is not an attribute of openstack {cls.__module__}.{cls.__name__}"
               for k in sorted(obj) if k not in names and (cls, k) not in NESTED]
        for k, value in obj.items():
            inner = NESTED.get((cls, k))
            if inner is None:
                continue
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                out += self._object(inner, item, f"{where}.{k}[{i}]" if isinstance(value, list) else f"{where}.{k}")
        return out
