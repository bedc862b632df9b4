"""``Microsoft.Network/loadBalancers`` and their child resources.

What ARM enforces on a load balancer PUT and this kind enforces too:

* every frontend has exactly one of a public IP (Standard LB -> Standard public IP, same
  region, not attached elsewhere) or a subnet (private IP: dynamic, or static inside the subnet
  and free); a load balancer is public or internal, not both;
* a rule's frontend, backend pool and probe exist on the same load balancer; frontend
  (protocol, port) pairs are unique per frontend; without floating IP, backend (pool,
  protocol, port) pairs are unique; HA ports (protocol All, ports 0) only on an internal
  Standard load balancer; idle timeout 4-100 minutes (4-30 on Basic); TCP reset only on
  Standard;
* probes: Tcp without a path, Http/Https with one starting with ``/``, interval >= 5 s;
* a backend pool holds NIC IP configurations or IP addresses, not both, and cannot be removed
  (nor the load balancer deleted) while NIC IP configurations point at it.

Reads add the back-references ARM computes (``loadBalancingRules`` on frontends, pools and
probes, ``backendIPConfigurations`` on pools).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from . import errors, publicips, vnets
from .ids import ResourceId, key_of
from .kinds import Body, Kind, props, ref_id
from .publicips import canonical

if TYPE_CHECKING:
    from .state import ArmState, Reference

_FE = "frontendIPConfigurations"
_POOLS = "backendAddressPools"
_RULES = "loadBalancingRules"
_PROBES = "probes"
_NAT = "inboundNatRules"
_OUTBOUND = "outboundRules"


class LoadBalancerKind(Kind):
    type = "Microsoft.Network/loadBalancers"
    children = {
        "frontendipconfigurations": _FE,
        "backendaddresspools": _POOLS,
        "loadbalancingrules": _RULES,
        "probes": _PROBES,
        "inboundnatrules": _NAT,
        "outboundrules": _OUTBOUND,
    }
    writable_children = frozenset({"backendaddresspools", "inboundnatrules"})

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        where = str(rid)
        sku = dict(body.get("sku") or {})
        sku["name"] = canonical(sku.get("name"), ("Basic", "Standard", "Gateway"), "Basic", "SKU", where)
        sku["tier"] = canonical(sku.get("tier"), ("Regional", "Global"), "Regional", "SKU tier", where)
        body["sku"] = sku
        if old is not None and old["sku"]["name"] != sku["name"]:
            raise errors.LoadBalancerSkuCannotBeChanged(
                f"Load balancer {where} has SKU {old['sku']['name']}; it cannot change to {sku['name']}.")
        refs = state.references()
        p = props(body)
        old_p = props(old) if old is not None else {}
        internal = self._frontends(state, refs, rid, body=body, p=p, old_p=old_p)
        pool_ids = self._pools(state, refs, rid, p, old_p)
        probe_ids = self._probes(rid, sku["name"], p)
        fe_ids = {key_of(str(rid.child(_FE, fe["name"]))) for fe in p.get(_FE) or []}
        self._rules(rid, sku["name"], internal, p, fe_ids=fe_ids, pool_ids=pool_ids, probe_ids=probe_ids)
        self._other_rules(rid, p, fe_ids, pool_ids)
        return body

    # ---- frontends

    def _frontends(self, state: ArmState, refs: dict[str, list[Reference]], rid: ResourceId, *,
                   body: Body, p: Body, old_p: Body) -> bool:
        publics = privates = 0
        seen_pips: dict[str, str] = {}
        used_by_subnet: dict[str, set[str]] = {}
        old_fes = {fe["name"].lower(): fe for fe in old_p.get(_FE) or []}
        for fe in p.get(_FE) or []:
            fe_id = str(rid.child(_FE, fe.get("name", "")))
            fp = props(fe)
            pip_id = ref_id(fp.get("publicIPAddress"))
            subnet_id = ref_id(fp.get("subnet"))
            prefix_id = ref_id(fp.get("publicIPPrefix"))
            if sum(x is not None for x in (pip_id, subnet_id, prefix_id)) != 1:
                raise errors.InvalidParameter(
                    f"Frontend IP configuration {fe_id} must reference exactly one of publicIPAddress, "
                    "publicIPPrefix or subnet.")
            if prefix_id is not None:
                raise errors.InvalidResourceReference(prefix_id, fe_id)
            if pip_id is not None:
                pip = publicips.check_attachable(state, refs, pip_id, referrer=fe_id, referrer_top=rid.key,
                                                 location=body["location"], sku=body["sku"]["name"])
                if key_of(pip_id) in seen_pips:
                    raise errors.PublicIPReferencedByMultipleIPConfigs(
                        f"Public IP address {pip['id']} is referenced by multiple IP configurations: "
                        f"{seen_pips[key_of(pip_id)]} and {fe_id}.")
                seen_pips[key_of(pip_id)] = fe_id
                for k in ("privateIPAddress", "privateIPAllocationMethod", "privateIPAddressVersion"):
                    fp.pop(k, None)
                fp["publicIPAddress"] = {"id": pip["id"]}
                publics += 1
            else:
                subnet = vnets.resolve_subnet(state, subnet_id, fe_id)
                skey = key_of(str(subnet["id"]))
                if skey not in used_by_subnet:
                    used_by_subnet[skey] = vnets.used_addresses(refs, str(subnet["id"]), rid.key)
                vnet = state.lookup(str(subnet["id"]).rsplit("/subnets/", 1)[0])
                if vnet is None or vnet.get("location") != body["location"]:
                    raise errors.InvalidResourceReference(str(subnet_id), fe_id)
                vnets.assign_private_ip(subnet, fp, old=old_fes.get(fe.get("name", "").lower()),
                                        used=used_by_subnet[skey], referrer=fe_id)
                privates += 1
        if publics and privates:
            raise errors.LoadBalancerFrontendIPConfigurationsMixed(
                f"Load balancer {rid} cannot have both public and private frontend IP configurations.")
        # a static private IP in the pass above may collide with a dynamic one given earlier
        return privates > 0

    # ---- backend pools

    def _pools(self, state: ArmState, refs: dict[str, list[Reference]], rid: ResourceId, p: Body,
               old_p: Body) -> set[str]:
        pool_ids: set[str] = set()
        for pool in p.get(_POOLS) or []:
            pool_id = str(rid.child(_POOLS, pool.get("name", "")))
            pool_ids.add(key_of(pool_id))
            pp = props(pool)
            addresses = pp.get("loadBalancerBackendAddresses") or []
            if addresses and _nic_members(refs, pool_id):
                raise errors.MixedBackendPoolMembers(
                    f"Backend address pool {pool_id} is referenced by network interface IP configurations "
                    "and cannot also hold IP addresses.")
            names: set[str] = set()
            for addr in addresses:
                name = addr.get("name")
                if not name or name.lower() in names:
                    raise errors.InvalidParameter(
                        f"Every backend address of {pool_id} needs a unique name (got {name!r}).")
                names.add(name.lower())
                ap = props(addr)
                try:
                    ipaddress.ip_address(str(ap.get("ipAddress")))
                except ValueError:
                    raise errors.InvalidParameter(
                        f"Backend address {name} of {pool_id} has no valid ipAddress "
                        f"({ap.get('ipAddress')!r}).") from None
                vnet_id = ref_id(ap.get("virtualNetwork"))
                subnet_id = ref_id(ap.get("subnet"))
                target = vnet_id or subnet_id
                if target is None or state.lookup(target) is None:
                    raise errors.InvalidResourceReference(str(target), f"{pool_id}/loadBalancerBackendAddresses/{name}")
                for k in ("virtualNetwork", "subnet"):
                    if ref_id(ap.get(k)):
                        ap[k] = {"id": ref_id(ap.get(k))}
            vnet_ref = ref_id(pp.get("virtualNetwork"))
            if vnet_ref is not None:
                if state.lookup(vnet_ref) is None:
                    raise errors.InvalidResourceReference(vnet_ref, pool_id)
                pp["virtualNetwork"] = {"id": vnet_ref}
        for old_pool in old_p.get(_POOLS) or []:
            old_id = str(rid.child(_POOLS, old_pool["name"]))
            if key_of(old_id) not in pool_ids:
                _refuse_if_in_use(refs, old_id)
        return pool_ids

    # ---- probes

    def _probes(self, rid: ResourceId, sku: str, p: Body) -> set[str]:
        probe_ids: set[str] = set()
        for probe in p.get(_PROBES) or []:
            probe_id = str(rid.child(_PROBES, probe.get("name", "")))
            probe_ids.add(key_of(probe_id))
            pp = props(probe)
            proto = canonical(pp.get("protocol"), ("Tcp", "Http", "Https"), "", "Probe protocol", probe_id)
            if not proto:
                raise errors.InvalidProbe(f"Probe {probe_id} needs a protocol (Tcp, Http or Https).")
            if proto == "Https" and sku != "Standard":
                raise errors.InvalidProbe(f"Probe {probe_id}: Https probes need a Standard load balancer.")
            pp["protocol"] = proto
            path = pp.get("requestPath")
            if proto == "Tcp" and path:
                raise errors.InvalidProbe(f"Probe {probe_id} with protocol Tcp cannot have a requestPath.")
            if proto != "Tcp" and (not isinstance(path, str) or not path.startswith("/")):
                raise errors.InvalidProbe(
                    f"Probe {probe_id} with protocol {proto} needs a requestPath starting with '/'.")
            _int_in(pp, "port", 1, 65535, probe_id, required=True)
            _int_in(pp, "intervalInSeconds", 5, 2147483646, probe_id, default=15)
            _int_in(pp, "numberOfProbes", 1, 2147483647, probe_id, default=2)
            _int_in(pp, "probeThreshold", 1, 2147483647, probe_id, default=1)
        return probe_ids

    # ---- rules

    def _rules(self, rid: ResourceId, sku: str, internal: bool, p: Body, *, fe_ids: set[str],
               pool_ids: set[str], probe_ids: set[str]) -> None:
        on_frontend: dict[str, list[tuple[str, int, str]]] = {}
        backend_keys: dict[tuple[str, str, int], str] = {}
        max_idle = 100 if sku == "Standard" else 30
        for rule in p.get(_RULES) or []:
            rule_id = str(rid.child(_RULES, rule.get("name", "")))
            rp = props(rule)
            proto = canonical(rp.get("protocol"), ("Tcp", "Udp", "All"), "", "Protocol", rule_id)
            if not proto:
                raise errors.InvalidLoadBalancingRule(f"Load balancing rule {rule_id} needs a protocol.")
            rp["protocol"] = proto
            fe = _same_lb_ref(rp, "frontendIPConfiguration", fe_ids, rule_id, required=True)
            pools = [_same_lb_ref(rp, "backendAddressPool", pool_ids, rule_id)]
            for extra in rp.get("backendAddressPools") or []:
                if ref_id(extra) is None or key_of(str(ref_id(extra))) not in pool_ids:
                    raise errors.InvalidResourceReference(str(ref_id(extra)), rule_id)
                pools.append(key_of(str(ref_id(extra))))
            _same_lb_ref(rp, "probe", probe_ids, rule_id)
            fport = _int_in(rp, "frontendPort", 0, 65534, rule_id, required=True)
            bport = _int_in(rp, "backendPort", 0, 65535, rule_id, default=fport)
            if (proto == "All") != (fport == 0 and bport == 0):
                raise errors.InvalidLoadBalancingRule(
                    f"Load balancing rule {rule_id}: ports 0 go with protocol All (HA ports) and only with it.")
            if proto == "All" and (sku != "Standard" or not internal):
                raise errors.HaPortsRuleNotAllowed(
                    f"Load balancing rule {rule_id} with protocol All and port 0 (HA ports) is only allowed "
                    "on an internal Standard load balancer.")
            _int_in(rp, "idleTimeoutInMinutes", 4, max_idle, rule_id, default=4)
            if rp.get("enableTcpReset") and sku != "Standard":
                raise errors.InvalidParameter(f"Load balancing rule {rule_id}: TCP reset needs a Standard SKU.")
            for flag in ("enableTcpReset", "enableFloatingIP", "disableOutboundSnat"):
                rp[flag] = bool(rp.get(flag, False))
            rp["loadDistribution"] = canonical(rp.get("loadDistribution"), ("Default", "SourceIP",
                                               "SourceIPProtocol"), "Default", "loadDistribution", rule_id)
            for other_proto, other_port, other in on_frontend.setdefault(fe or "", []):
                if "All" in (proto, other_proto) or (other_proto, other_port) == (proto, fport):
                    raise errors.RulesUseSameFrontendIPAndPort(
                        f"Load balancing rules {other} and {rule_id} use the same frontend IP configuration "
                        f"{rp['frontendIPConfiguration']['id']}, protocol and frontend port {fport}.")
            on_frontend[fe or ""].append((proto, fport, rule_id))
            if not rp["enableFloatingIP"]:
                for pool in filter(None, pools):
                    bkey = (pool, proto, bport)
                    if bkey in backend_keys:
                        raise errors.RulesUseSameBackendPort(
                            f"Load balancing rules {backend_keys[bkey]} and {rule_id} use the same backend "
                            f"port {bport} and protocol {proto} with the same backend pool, and floating IP "
                            "is disabled.")
                    backend_keys[bkey] = rule_id

    def _other_rules(self, rid: ResourceId, p: Body, fe_ids: set[str], pool_ids: set[str]) -> None:
        for rule in p.get(_NAT) or []:
            rule_id = str(rid.child(_NAT, rule.get("name", "")))
            _same_lb_ref(props(rule), "frontendIPConfiguration", fe_ids, rule_id, required=True)
            _same_lb_ref(props(rule), "backendAddressPool", pool_ids, rule_id)
        for rule in p.get(_OUTBOUND) or []:
            rule_id = str(rid.child(_OUTBOUND, rule.get("name", "")))
            rp = props(rule)
            fes = rp.get("frontendIPConfigurations") or []
            if not fes:
                raise errors.InvalidParameter(f"Outbound rule {rule_id} needs frontendIPConfigurations.")
            for ref in fes:
                if ref_id(ref) is None or key_of(str(ref_id(ref))) not in fe_ids:
                    raise errors.InvalidResourceReference(str(ref_id(ref)), rule_id)
            _same_lb_ref(rp, "backendAddressPool", pool_ids, rule_id, required=True)

    # ---- delete / render

    def check_delete(self, state: ArmState, rid: ResourceId, stored: Body) -> None:
        refs = state.references()
        for pool in props(stored).get(_POOLS) or []:
            _refuse_if_in_use(refs, pool["id"])

    def render(self, state: ArmState, rid: ResourceId, stored: Body) -> Body:
        p = props(stored)
        by_target: dict[str, dict[str, list[dict[str, str]]]] = {}
        for collection in (_RULES, _NAT, _OUTBOUND):
            for rule in p.get(collection) or []:
                rp = props(rule)
                targets = [ref_id(rp.get(k)) for k in ("frontendIPConfiguration", "backendAddressPool", "probe")]
                targets += [ref_id(x) for x in rp.get("frontendIPConfigurations") or []]
                targets += [ref_id(x) for x in rp.get("backendAddressPools") or []]
                for t in filter(None, targets):
                    lst = by_target.setdefault(key_of(str(t)), {}).setdefault(collection, [])
                    if {"id": rule["id"]} not in lst:
                        lst.append({"id": rule["id"]})
        refs = state.references() if p.get(_POOLS) else {}
        for collection in (_FE, _POOLS, _PROBES):
            for item in p.get(collection) or []:
                ip = props(item)
                for back, lst in by_target.get(key_of(item["id"]), {}).items():
                    ip[back] = lst
                if collection == _POOLS:
                    members = _nic_members(refs, item["id"])
                    if members:
                        ip["backendIPConfigurations"] = [{"id": m} for m in members]
        return stored


def _nic_members(refs: dict[str, list[Reference]], pool_id: str) -> list[str]:
    return [r.referrer for r in refs.get(key_of(pool_id), [])
            if "/providers/microsoft.network/networkinterfaces/" in r.top]


def _refuse_if_in_use(refs: dict[str, list[Reference]], pool_id: str) -> None:
    members = _nic_members(refs, pool_id)
    if members:
        raise errors.InUseBackendAddressPoolCannotBeDeleted(
            f"Backend address pool {pool_id} is in use by network interface IP configuration "
            f"{members[0]}; remove it from the pool first.")


def _same_lb_ref(rp: Body, key: str, allowed: set[str], referrer: str, required: bool = False) -> str | None:
    target = ref_id(rp.get(key))
    if target is None:
        if required:
            raise errors.InvalidParameter(f"{referrer} needs a {key} reference.")
        rp.pop(key, None)
        return None
    if key_of(target) not in allowed:
        raise errors.InvalidResourceReference(target, referrer)
    rp[key] = {"id": target}
    return key_of(target)


def _int_in(p: Body, key: str, lo: int, hi: int, where: str, *, required: bool = False,
            default: int | None = None) -> int:
    value: Any = p.get(key)
    if value is None:
        if required:
            raise errors.InvalidParameter(f"{where} needs {key}.")
        p[key] = default
        return int(default or 0)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise errors.InvalidParameter(f"{key} {value!r} of {where} is out of the range {lo}-{hi}.")
    return int(value)
