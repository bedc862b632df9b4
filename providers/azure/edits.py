"""Pure edits of shared resources: one Service's part of a load balancer, a NIC's pool membership.

A shared load balancer holds every Service's frontend, rules and probes, so a Service never
writes "the load balancer": it writes *its* children into whatever the load balancer holds at
that moment. An edit is that write as a pure function of the resource's current body:
``apply(current) -> new body`` (``current`` itself when nothing changes). The plan runs it on the
observed body to decide whether a call is needed; ``apply.py`` runs it again on a fresh read right
before each PUT (with the read's ETag in ``If-Match``), and again after a 412, so concurrent
Services never lose each other's children, and edits for one load balancer can be batched into
one PUT.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from providers.adapter.ownership import Owner, foreign
from providers.azure.desired import ServiceParts
from providers.azure.names import CLUSTER_TAG, belongs, same_id, tag_value
from providers.port import UserError

Body = dict[str, Any]

_FE = "frontendIPConfigurations"
_POOLS = "backendAddressPools"
_RULES = "loadBalancingRules"
_PROBES = "probes"

#: the properties we manage per child type; everything else (ids, etags, back-references, what ARM
#: fills) is not compared
_RULE_KEYS = ("protocol", "frontendPort", "backendPort", "frontendIPConfiguration", "backendAddressPool", "probe",
              "enableFloatingIP", "idleTimeoutInMinutes", "enableTcpReset", "loadDistribution", "disableOutboundSnat")
_PROBE_KEYS = ("protocol", "port", "intervalInSeconds", "numberOfProbes", "probeThreshold", "requestPath")
_FE_KEYS = ("publicIPAddress", "subnet", "privateIPAllocationMethod")


def props(body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (body or {}).get("properties") or {}


def _same(a: Any, b: Any) -> bool:
    """JSON equality with ARM's case-insensitive ids and enum values."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) == {"id"} or set(b) == {"id"}:
            return same_id(a.get("id"), b.get("id"))
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)


def _matches(want: Body, have: Body | None, keys: Sequence[str]) -> bool:
    if have is None:
        return False
    wp, hp = props(want), props(have)
    return all(_same(wp.get(k), hp.get(k)) for k in keys if wp.get(k) is not None or hp.get(k) is not None)


def _frontend_matches(want: Body, have: Body | None) -> bool:
    if not _matches(want, have, _FE_KEYS):
        return False
    wanted_ip = props(want).get("privateIPAddress")
    return wanted_ip is None or wanted_ip == props(have).get("privateIPAddress")


def _by_name(items: Iterable[Body]) -> dict[str, Body]:
    return {str(i.get("name", "")).lower(): i for i in items}


@dataclasses.dataclass(frozen=True)
class LoadBalancerEdit:
    """This Service's children on one load balancer (``parts`` None: remove them), plus the shared pool.

    ``pool_addresses`` (IP-based backend pools) replaces the pool's members when not None.
    """

    lb_name: str
    lb_id: str
    location: str
    cluster: str
    uid: str
    owner: Owner
    pool: str
    parts: ServiceParts | None
    pool_addresses: tuple[Body, ...] | None = None
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        if self.parts is None:
            return f"remove the frontend, rules and probes of {self.owner.service}"
        return (f"frontend {self.parts.frontend['name']}, {len(self.parts.rules)} rule(s), "
                f"{len(self.parts.probes)} probe(s) for {self.owner.service}")

    def settings(self, *, create: bool) -> Mapping[str, Any]:
        if self.parts is None:
            return {}
        if create:
            return {"body": self._create()}
        out: Body = {_FE: [self.parts.frontend], _RULES: list(self.parts.rules), _PROBES: list(self.parts.probes)}
        if self.pool_addresses is not None:
            out[_POOLS] = [self._pool_body()]
        return out

    def apply(self, current: Body | None) -> Body | None:
        """The load balancer with this Service's children as wanted; ``current`` when nothing changes."""
        if current is None:
            if self.parts is None:
                return None
            return self._create()
        self.check_owned(current)
        p = props(current)
        fes, rules, probes, pools = (list(p.get(k) or []) for k in (_FE, _RULES, _PROBES, _POOLS))
        changed = False
        if self.parts is None:
            wanted_fe: list[Body] = []
            wanted_rules: list[Body] = []
            wanted_probes: list[Body] = []
        else:
            wanted_fe = [self.parts.frontend]
            wanted_rules = list(self.parts.rules)
            wanted_probes = list(self.parts.probes)
        new_fes, c1 = self._merge(fes, wanted_fe, _frontend_matches)
        new_rules, c2 = self._merge(rules, wanted_rules, lambda w, h: _matches(w, h, _RULE_KEYS))
        new_probes, c3 = self._merge(probes, wanted_probes, lambda w, h: _matches(w, h, _PROBE_KEYS))
        changed = c1 or c2 or c3
        new_pools, c4 = merge_pool(pools, self.pool, self.pool_addresses, needed=self.parts is not None)
        changed = changed or c4 or (failed(current) and self.parts is not None)
        if not changed:
            return current
        body = copy.deepcopy(current)
        body.setdefault("properties", {})
        body["properties"].update({_FE: new_fes, _RULES: new_rules, _PROBES: new_probes, _POOLS: new_pools})
        return body

    def check_owned(self, current: Body) -> None:
        """A load balancer with our name but without our cluster tag is never touched."""
        if tag_value(current.get("tags"), CLUSTER_TAG) != self.cluster:
            raise foreign("load balancer", self.lb_name, Owner(self.cluster, self.owner.service))
        sku = str((current.get("sku") or {}).get("name", "")).lower()
        if sku and sku != "standard":
            raise UserError(f"load balancer {self.lb_name} has SKU {sku}; ccm manages Standard load balancers only",
                            reason="ForeignLoadBalancer")

    def _merge(self, have: list[Body], want: list[Body], matches: Any) -> tuple[list[Body], bool]:
        """Children not ours kept in place; ours replaced by the wanted ones (kept when they match)."""
        old = _by_name(c for c in have if belongs(str(c.get("name", "")), self.uid))
        out: list[Body] = [c for c in have if not belongs(str(c.get("name", "")), self.uid)]
        changed = set(old) != {str(w["name"]).lower() for w in want}
        for w in want:
            o = old.get(str(w["name"]).lower())
            if matches(w, o):
                out.append(o)  # type: ignore[arg-type]
            else:
                out.append(copy.deepcopy(w))
                changed = True
        if not changed:
            return have, False
        return out, True

    def _pool_body(self) -> Body:
        return pool_body(self.pool, self.pool_addresses)

    def _create(self) -> Body:
        assert self.parts is not None
        return {
            "location": self.location,
            "sku": {"name": "Standard", "tier": "Regional"},
            "tags": {**self.tags, CLUSTER_TAG: self.cluster},
            "properties": {
                _FE: [copy.deepcopy(self.parts.frontend)],
                _POOLS: [self._pool_body()],
                _PROBES: copy.deepcopy(list(self.parts.probes)),
                _RULES: copy.deepcopy(list(self.parts.rules)),
            },
        }


def failed(body: Mapping[str, Any] | None) -> bool:
    """ARM left the resource ``Failed`` (an operation that ended badly): writing it again repairs it."""
    return str(props(body).get("provisioningState", "")).lower() == "failed"


def pool_body(pool: str, addresses: Sequence[Body] | None) -> Body:
    body: Body = {"name": pool}
    if addresses is not None:
        body["properties"] = {"loadBalancerBackendAddresses": copy.deepcopy(list(addresses))}
    return body


def merge_pool(pools: list[Body], pool: str, addresses: Sequence[Body] | None, *, needed: bool,
               ) -> tuple[list[Body], bool]:
    """The pools with ours present when ``needed`` and, for IP-based pools, holding ``addresses``."""
    ours = next((p for p in pools if str(p.get("name", "")).lower() == pool.lower()), None)
    if ours is None:
        if not needed:
            return pools, False
        return [*pools, pool_body(pool, addresses)], True
    if addresses is None:
        return pools, False
    have = sorted((str(a.get("name")), str(props(a).get("ipAddress"))) for a in props(ours).get(
        "loadBalancerBackendAddresses") or [])
    want = sorted((str(a.get("name")), str(props(a).get("ipAddress"))) for a in addresses)
    if have == want:
        return pools, False
    replaced = copy.deepcopy(ours)
    replaced.setdefault("properties", {})["loadBalancerBackendAddresses"] = copy.deepcopy(list(addresses))
    return [replaced if p is ours else p for p in pools], True


def is_empty(lb: Body | None, pool: str) -> bool:
    """No frontend left and nothing but our pool: the load balancer may go (upstream
    ``cleanOrphanedLoadBalancer``); anything else on it is someone's and keeps it."""
    if lb is None:
        return False
    p = props(lb)
    others = [c for k, v in p.items() if k in (_FE, _RULES, _PROBES, "inboundNatRules", "outboundRules",
                                               "inboundNatPools") for c in v or []]
    pools = [str(x.get("name", "")).lower() for x in p.get(_POOLS) or []]
    return not others and all(name == pool.lower() for name in pools)


def frontend_of(lb: Body | None, name: str) -> Body | None:
    for fe in props(lb).get(_FE) or []:
        if str(fe.get("name", "")).lower() == name.lower():
            return dict(fe)
    return None


def service_children(lb: Body | None, uid: str) -> list[str]:
    """Names of this Service's frontends, rules and probes on ``lb``."""
    p = props(lb)
    return [str(c.get("name")) for k in (_FE, _RULES, _PROBES) for c in p.get(k) or []
            if belongs(str(c.get("name", "")), uid)]


def pool_members(lb: Body | None, pool: str) -> list[str]:
    """IDs of the NIC IP configurations in the pool (ARM's back-reference)."""
    for p in props(lb).get(_POOLS) or []:
        if str(p.get("name", "")).lower() == pool.lower():
            return [str(c["id"]) for c in props(p).get("backendIPConfigurations") or [] if c.get("id")]
    return []


def pool_id(lb_id: str, pool: str) -> str:
    return f"{lb_id}/{_POOLS}/{pool}"


@dataclasses.dataclass(frozen=True)
class NicEdit:
    """The primary IP configuration of one NIC joins ``add`` and leaves ``remove`` (backend pool IDs)."""

    nic_id: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.add:
            parts.append("join " + ", ".join(p.rsplit("/", 3)[-3] for p in self.add))
        if self.remove:
            parts.append("leave " + ", ".join(p.rsplit("/", 3)[-3] for p in self.remove))
        return "; ".join(parts)

    def settings(self, *, create: bool) -> Mapping[str, Any]:
        """The backend pools the NIC's primary IP configuration joins and leaves."""
        return {k: list(v) for k, v in (("join", self.add), ("leave", self.remove)) if v}

    def apply(self, current: Body | None) -> Body | None:
        if current is None:
            return None
        configs = list(props(current).get("ipConfigurations") or [])
        primary = primary_ip_configuration(current)
        if primary is None:
            return current
        have = [r for r in props(primary).get("loadBalancerBackendAddressPools") or []]
        keep = [r for r in have if not any(same_id(r.get("id"), x) for x in self.remove)]
        missing = [{"id": a} for a in self.add if not any(same_id(r.get("id"), a) for r in keep)]
        if len(keep) == len(have) and not missing and not failed(current):
            return current
        body = copy.deepcopy(current)
        index = configs.index(primary)
        body["properties"]["ipConfigurations"][index]["properties"]["loadBalancerBackendAddressPools"] = [
            {"id": r["id"]} for r in keep] + missing
        return body


def primary_ip_configuration(nic: Body) -> Body | None:
    configs = list(props(nic).get("ipConfigurations") or [])
    return next((c for c in configs if props(c).get("primary")), configs[0] if len(configs) == 1 else None)


def nic_pools(nic: Body) -> list[str]:
    primary = primary_ip_configuration(nic)
    return [str(r["id"]) for r in props(primary).get("loadBalancerBackendAddressPools") or [] if r.get("id")]
