"""Pure diffs: desired vs observed -> the calls that close the gap (and what cannot change).

Creation is one fully populated load-balancer create (listeners, pools, members, monitors in a
single Octavia job) followed by the floating IP. On an existing load balancer, listeners are
matched by (port, transport): gone ones are deleted (pool first), new ones created with their
pool in one call, changed ones updated in place; a protocol change (TCP -> HTTP for
X-Forwarded-For, PROXY on or off) re-creates the listener or pool, since Octavia cannot change
it. Members change through the batch update, one call per pool. Create-only differences (VIP
placement, provider, flavor, availability zone) are reported, never acted on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from providers.adapter.operations import Ref
from providers.openstack.desired import TRANSPORT, Desired, Listener, Member, Monitor, Pool
from providers.openstack.names import is_owned_fip, ownership_tags
from providers.openstack.operations import (
    FLOATING_IP,
    HEALTH_MONITOR,
    LISTENER,
    LOAD_BALANCER,
    MEMBERS,
    POOL,
    OsCall,
    call,
)
from providers.port import UserError

Json = Mapping[str, Any]
LB_REF = Ref("lb", ("id",))
VIP_PORT_REF = Ref("lb", ("vip_port_id",))


@dataclasses.dataclass(frozen=True)
class Observed:
    """What exists for the Service (API views, server-side attribute names)."""

    lb: Json | None = None
    listeners: tuple[Json, ...] = ()
    pools: Mapping[str, Json] = dataclasses.field(default_factory=dict)
    members: Mapping[str, tuple[Json, ...]] = dataclasses.field(default_factory=dict)
    monitors: Mapping[str, Json] = dataclasses.field(default_factory=dict)
    #: floating IPs on the VIP port (ours or not)
    port_fips: tuple[Json, ...] = ()
    #: floating IPs with our marks anywhere (a kept one, a crash leftover)
    owned_fips: tuple[Json, ...] = ()
    #: the floating IP with the loadBalancerIP address, when one exists
    requested_fip: Json | None = None
    #: more load balancers of ours with the same name (a crashed double create)
    extra_lbs: tuple[Json, ...] = ()


@dataclasses.dataclass(frozen=True)
class Planned:
    operations: tuple[OsCall, ...]
    notes: tuple[str, ...]
    #: the floating IP on the VIP port once applied, when known before (not one the plan creates)
    address: str | None = None


def member_key(m: Json | Member) -> tuple[Any, ...]:
    get = m.get if isinstance(m, Mapping) else lambda k: getattr(m, k)
    return (get("address"), int(get("protocol_port") or 0), get("name") or "", get("subnet_id") or None,
            get("monitor_port") or None)


def members_differ(desired: Pool, observed: Sequence[Json]) -> bool:
    return sorted(map(member_key, desired.members)) != sorted(map(member_key, observed))


def batch(pool_id: Any, pool_name: str, members: Sequence[Member], lb: Any) -> OsCall:
    return call(MEMBERS, pool_name, "load-balancer", "batch_members", target=pool_id,
                params={"members": [m.body() for m in members]}, lb=lb,
                summary=f"{len(members)} members (one batch call)")


def _monitor_changes(want: Monitor, have: Json) -> dict[str, Any]:
    return {k: v for k, v in want.body().items() if k != "type" and have.get(k) != v}


def _plan_monitor(pool_id: Any, pool: Pool, have: Json | None, lb: Any) -> list[OsCall]:
    want = pool.monitor
    name = pool.name.replace("pool_", "monitor_", 1)
    if want is None:
        return [] if have is None else [call(HEALTH_MONITOR, name, "load-balancer", "delete_health_monitor",
                                             target=have["id"], lb=lb)]
    if have is None or have.get("type") != want.type:
        out = [] if have is None else [call(HEALTH_MONITOR, name, "load-balancer", "delete_health_monitor",
                                            target=have["id"], lb=lb, summary=f"type {have.get('type')} -> {want.type}")]
        return [*out, call(HEALTH_MONITOR, name, "load-balancer", "create_health_monitor",
                           params={"pool_id": pool_id, "name": name, **want.body()}, lb=lb)]
    changes = _monitor_changes(want, have)
    if not changes:
        return []
    return [call(HEALTH_MONITOR, name, "load-balancer", "update_health_monitor", target=have["id"], params=changes,
                 lb=lb, summary=", ".join(sorted(changes)))]


def _pool_changes(want: Pool, have: Json) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if have.get("lb_algorithm") != want.lb_algorithm:
        out["lb_algorithm"] = want.lb_algorithm
    have_persistence = (have.get("session_persistence") or {}).get("type")
    if have_persistence != want.persistence:
        out["session_persistence"] = {"type": want.persistence} if want.persistence else None
    if have.get("name") != want.name:
        out["name"] = want.name
    return out


def _create_pool(listener_id: str, pool: Pool, lb: Any) -> list[OsCall]:
    """The pool with its members, then its monitor (openstacksdk's Pool has no nested ``healthmonitor``)."""
    body = pool.body()
    body.pop("healthmonitor", None)
    out = [call(POOL, pool.name, "load-balancer", "create_pool", params={"listener_id": listener_id, **body}, lb=lb,
                produces=f"pool:{pool.name}", summary=f"{pool.protocol} {pool.lb_algorithm}, {len(pool.members)} members")]
    if pool.monitor is not None:
        out += _plan_monitor(Ref(f"pool:{pool.name}", ("id",)), pool, None, lb)
    return out


def _plan_listener(want: Listener, have: Json, obs: Observed, lb: Any) -> list[OsCall]:
    ops: list[OsCall] = []
    settable = want.settable()
    changes = {k: v for k, v in settable.items() if _norm(k, have.get(k)) != _norm(k, v)}
    if changes:
        ops.append(call(LISTENER, want.name, "load-balancer", "update_listener", target=have["id"], params=changes,
                        lb=lb, summary=", ".join(sorted(changes))))
    pool_id = have.get("default_pool_id")
    pool = obs.pools.get(pool_id or "")
    if pool is None:
        return [*ops, *_create_pool(have["id"], want.pool, lb)]
    if pool.get("protocol") != want.pool.protocol:
        return [*ops, call(POOL, want.pool.name, "load-balancer", "delete_pool", target=pool["id"], lb=lb,
                           summary=f"protocol {pool.get('protocol')} -> {want.pool.protocol}"),
                *_create_pool(have["id"], want.pool, lb)]
    pool_changes = _pool_changes(want.pool, pool)
    if pool_changes:
        ops.append(call(POOL, want.pool.name, "load-balancer", "update_pool", target=pool["id"], params=pool_changes,
                        lb=lb, summary=", ".join(sorted(pool_changes))))
    ops += _plan_monitor(pool["id"], want.pool, obs.monitors.get(pool["id"]), lb)
    if members_differ(want.pool, obs.members.get(pool["id"], ())):
        ops.append(batch(pool["id"], want.pool.name, want.pool.members, lb))
    return ops


def _norm(key: str, value: Any) -> Any:
    if key == "allowed_cidrs":
        return sorted(value or [])
    if key == "insert_headers":
        return dict(value or {})
    return value


def plan_members(desired: Desired, obs: Observed) -> tuple[OsCall, ...]:
    """Node sync: only the batch member updates (one call per pool whose members differ)."""
    if obs.lb is None:
        return ()
    wanted = {li.key: li for li in desired.listeners}
    ops = []
    for have in obs.listeners:
        want = wanted.get((have["protocol_port"], TRANSPORT.get(have["protocol"], "tcp")))
        pool = obs.pools.get(have.get("default_pool_id") or "")
        if want is None or pool is None or pool.get("protocol") != want.pool.protocol:
            continue  # ensure's business
        if members_differ(want.pool, obs.members.get(pool["id"], ())):
            ops.append(batch(pool["id"], want.pool.name, want.pool.members, obs.lb["id"]))
    return tuple(ops)


def plan(desired: Desired, obs: Observed) -> Planned:
    notes: list[str] = []
    ops: list[OsCall] = []
    if obs.lb is None:
        ops.append(call(LOAD_BALANCER, desired.name, "load-balancer", "create_load_balancer",
                        params=desired.create_body(), lb=LB_REF, produces="lb",
                        summary=f"{len(desired.listeners)} listeners with pools, members and monitors in one job"))
        port_ref: Any = VIP_PORT_REF
    else:
        lb = obs.lb
        port_ref = lb["vip_port_id"]
        notes += _create_only(desired, lb)
        missing = [t for t in desired.tags if t not in (lb.get("tags") or [])]
        if missing:
            ops.append(call(LOAD_BALANCER, desired.name, "load-balancer", "update_load_balancer", target=lb["id"],
                            params={"tags": [*(lb.get("tags") or []), *missing]}, lb=lb["id"],
                            summary="add ownership tags " + ", ".join(missing)))
        wanted = {li.key: li for li in desired.listeners}
        seen: set[tuple[int, str]] = set()
        creates: list[OsCall] = []
        for have in obs.listeners:
            key = (have["protocol_port"], TRANSPORT.get(have["protocol"], "tcp"))
            want = wanted.get(key)
            if want is not None and want.protocol == have["protocol"] and key not in seen:
                seen.add(key)
                creates += _plan_listener(want, have, obs, lb["id"])
                continue
            pool_id = have.get("default_pool_id")
            if pool_id and pool_id in obs.pools:
                ops.append(call(POOL, obs.pools[pool_id].get("name") or pool_id, "load-balancer", "delete_pool",
                                target=pool_id, lb=lb["id"]))
            ops.append(call(LISTENER, have.get("name") or have["id"], "load-balancer", "delete_listener",
                            target=have["id"], lb=lb["id"],
                            summary="no longer a Service port" if want is None else
                            f"protocol {have['protocol']} -> {want.protocol}"))
        used = {p for li in obs.listeners for p in [li.get("default_pool_id")] if p}
        for pool_id, pool in obs.pools.items():
            if pool_id not in used:  # a pool left without its listener (a crash between two deletes)
                ops.append(call(POOL, pool.get("name") or pool_id, "load-balancer", "delete_pool", target=pool_id,
                                lb=lb["id"], summary="no listener uses it"))
        for key, want in wanted.items():
            if key not in seen:
                creates.append(call(LISTENER, want.name, "load-balancer", "create_listener",
                                    params={"loadbalancer_id": lb["id"], **want.body()}, lb=lb["id"],
                                    summary=f"{want.protocol} {want.port} with its pool"))
        ops += creates
    for extra in obs.extra_lbs:
        ops.append(call(LOAD_BALANCER, extra.get("name") or extra["id"], "load-balancer", "delete_load_balancer",
                        target=extra["id"], lb=extra["id"], summary="a second load balancer of ours with this name"))
    fip_ops, address = _plan_floating_ip(desired, obs, port_ref)
    return Planned((*ops, *fip_ops), tuple(notes), address)


def _create_only(desired: Desired, lb: Json) -> list[str]:
    out = []
    vip = desired.vip
    for label, want, have in (("VIP subnet", vip.subnet_id, lb.get("vip_subnet_id")),
                              ("VIP network", vip.network_id, lb.get("vip_network_id")),
                              ("VIP port", vip.port_id, lb.get("vip_port_id")),
                              ("VIP address", vip.address, lb.get("vip_address")),
                              ("flavor", desired.flavor_id, lb.get("flavor_id")),
                              ("availability zone", desired.availability_zone, lb.get("availability_zone"))):
        if want and have and want != have:
            out.append(f"the load balancer's {label} is {have}; {want} applies only when it is created "
                       "(delete and recreate the Service to change it)")
    provider = lb.get("provider") or "amphora"
    if desired.provider and {provider, desired.provider} != {"amphora", "octavia"} and provider != desired.provider:
        out.append(f"the load balancer's provider is {provider}; {desired.provider} applies only when it is created")
    return out


def release(fip: Json, owner_tags: Sequence[str], keep: bool, why: str) -> list[OsCall]:
    """Let go of one of our floating IPs: delete it, or (``keep``) detach it and drop our marks."""
    address = fip.get("floating_ip_address") or fip["id"]
    if not keep:
        return [call(FLOATING_IP, address, "network", "delete_ip", target=fip["id"], summary=why)]
    out = []
    if fip.get("port_id"):
        out.append(call(FLOATING_IP, address, "network", "update_ip", target=fip["id"], params={"port_id": None},
                        summary=f"{why}; kept (keep-floatingip)"))
    out.append(call(FLOATING_IP, address, "network", "set_ip_tags", target=fip["id"],
                    params={"tags": [t for t in fip.get("tags") or [] if t not in owner_tags]},
                    summary="kept: no longer ours"))
    return out


def _plan_floating_ip(desired: Desired, obs: Observed, port_ref: Any) -> tuple[list[OsCall], str | None]:
    """The floating-IP calls, and the address the VIP port ends up with when known now."""
    want = desired.floating_ip
    owner_tags = list(ownership_tags(desired.owner))
    ours = {f["id"]: f for f in obs.owned_fips}
    for f in obs.port_fips:
        if is_owned_fip(f.get("tags") or [], f.get("description") or "", desired.owner):
            ours[f["id"]] = f
    ops: list[OsCall] = []
    keep_on_port = None
    for f in obs.port_fips:
        fits = want is not None and f.get("floating_network_id") == want.network_id and (
            want.address is None or f.get("floating_ip_address") == want.address)
        if fits and keep_on_port is None:
            keep_on_port = f
            continue
        if f["id"] in ours:
            ops += release(f, owner_tags, desired.keep_floating_ip, "not the floating IP the Service asks for")
        else:
            ops.append(call(FLOATING_IP, f.get("floating_ip_address") or f["id"], "network", "update_ip",
                            target=f["id"], params={"port_id": None}, summary="detach (not ours: kept)"))
    if want is None:
        # internal: ours elsewhere (a kept one is untagged already) are leftovers of a public past or a crash
        for f in obs.owned_fips:
            if f.get("port_id") is None:
                ops += release(f, owner_tags, desired.keep_floating_ip, "internal load balancer")
        return ops, None
    if keep_on_port is not None:
        return ops, str(keep_on_port["floating_ip_address"])
    if want.address is not None and obs.requested_fip is not None:
        fip = obs.requested_fip
        if fip.get("port_id"):
            raise UserError(f"loadBalancerIP {want.address} is a floating IP already associated with port "
                            f"{fip['port_id']}", reason="LoadBalancerIPInUse")
        return [*ops, call(FLOATING_IP, want.address, "network", "update_ip", target=fip["id"],
                           params={"port_id": port_ref}, summary="attach to the VIP port")], want.address
    spare = next((f for f in obs.owned_fips if not f.get("port_id") and f.get("floating_network_id") ==
                  want.network_id and (want.address in (None, f.get("floating_ip_address")))), None)
    if spare is not None:
        return [*ops, call(FLOATING_IP, spare.get("floating_ip_address") or spare["id"], "network", "update_ip",
                           target=spare["id"], params={"port_id": port_ref}, summary="attach to the VIP port")], \
            str(spare["floating_ip_address"])
    params: dict[str, Any] = {"floating_network_id": want.network_id, "port_id": port_ref, "tags": list(want.tags),
                              "description": want.description}
    if want.subnet_id:
        params["subnet_id"] = want.subnet_id
    if want.address:
        params["floating_ip_address"] = want.address
    return [*ops, call(FLOATING_IP, want.address or "<floating-ip>", "network", "create_ip", params=params,
                       produces="fip", summary=f"on network {want.network_id}")], None


def plan_delete(desired_tags: Sequence[str], keep: bool, obs: Observed, owner: Any) -> tuple[OsCall, ...]:
    """Delete: our floating IPs (released, or kept), then each of our load balancers with everything under it."""
    owner_tags = list(desired_tags)
    ours = {f["id"]: f for f in obs.owned_fips}
    for f in obs.port_fips:
        if is_owned_fip(f.get("tags") or [], f.get("description") or "", owner):
            ours[f["id"]] = f
    ops: list[OsCall] = []
    for f in ours.values():
        ops += release(f, owner_tags, keep, "Service deleted")
    for lb in (*(() if obs.lb is None else (obs.lb,)), *obs.extra_lbs):
        ops.append(call(LOAD_BALANCER, lb.get("name") or lb["id"], "load-balancer", "delete_load_balancer",
                        target=lb["id"], lb=lb["id"], summary="cascade: listeners, pools, members, monitors"))
    return tuple(ops)
