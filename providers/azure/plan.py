"""Pure plans: observed + desired -> the ordered operations an ensure, a node sync or a delete sends.

Order of an ensure: the public IP (its address is the frontend's), this Service's part of its load
balancer, its removal from the other load balancer (an internal/public move), NIC pool membership,
deleting the other load balancer when nothing is left on it, a public IP of ours no longer used,
then the NSG rules (their destination is the frontend IP, a Ref when an earlier operation makes it).
Deletion: both load balancers' parts, NICs out of a pool that goes, the emptied load balancers,
every public IP tagged for the Service, the NSG rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from providers.adapter.operations import Ref
from providers.adapter.ownership import Owner, foreign
from providers.azure.config import NODE_IP, AzureConfig
from providers.azure.desired import Desired, lb_id_of
from providers.azure.edits import (
    LoadBalancerEdit,
    NicEdit,
    failed,
    frontend_of,
    is_empty,
    merge_pool,
    pool_id,
    pool_members,
    props,
)
from providers.azure.names import (
    CLUSTER_TAG,
    LOAD_BALANCER,
    NETWORK_INTERFACE,
    PUBLIC_IP,
    SECURITY_GROUP,
    belongs,
    is_owned,
    load_balancer_name,
    network_id,
    pool_name,
    public_ip_name,
    tag_value,
)
from providers.azure.observe import Observed
from providers.azure.operations import (
    INTERFACES,
    LOAD_BALANCERS,
    PUBLIC_IPS,
    SECURITY_GROUPS,
    AzureOp,
    delete,
    edit,
    put,
)
from providers.azure.security import RuleSpec, SecurityGroupEdit
from providers.port import LoadBalancerRequest, Node, PortStatus, ProviderWarning, UserError

Body = dict[str, Any]
FRONTEND_IP = "frontend-ip"
#: public IP properties we manage (compared with what exists)
_PIP_KEYS = ("publicIPAllocationMethod", "publicIPAddressVersion", "dnsSettings", "ipTags")


@dataclasses.dataclass(frozen=True)
class ServicePlan:
    operations: tuple[AzureOp, ...]
    #: the frontend IP: known, a Ref to an operation's result, or None (nothing yet)
    ip: str | Ref | None
    ports: tuple[PortStatus, ...]
    warnings: tuple[ProviderWarning, ...]


@dataclasses.dataclass(frozen=True)
class Context:
    """What every plan needs besides the Service's desired state."""

    config: AzureConfig
    cluster: str
    owner: Owner
    uid: str

    @classmethod
    def of(cls, config: AzureConfig, request: LoadBalancerRequest) -> Context:
        return cls(config, request.cluster_name, Owner(request.cluster_name, request.key), request.uid)

    @property
    def pool(self) -> str:
        return pool_name(self.cluster)

    def lb_id(self, internal: bool) -> str:
        return lb_id_of(self.config, internal, self.cluster)

    def lb_name(self, internal: bool) -> str:
        return load_balancer_name(self.cluster, internal)


def pool_addresses(ctx: Context, nodes: Sequence[Node]) -> tuple[Body, ...] | None:
    """IP-based pools: each node's InternalIP in the cluster VNet (None for NIC-based pools)."""
    if ctx.config.backend_pool_type != NODE_IP:
        return None
    vnet = network_id(ctx.config.subscription_id, ctx.config.vnet_group, "virtualNetworks", ctx.config.vnet_name)
    out = []
    for node in sorted(nodes, key=lambda n: n.name):
        ip = node.address_of("InternalIP")
        if ip:
            out.append({"name": node.name, "properties": {"ipAddress": ip, "virtualNetwork": {"id": vnet}}})
    return tuple(out)


def _lb_edit(ctx: Context, internal: bool, desired: Desired | None, public_ip_id: str | None,
             addresses: tuple[Body, ...] | None) -> LoadBalancerEdit:
    return LoadBalancerEdit(
        lb_name=ctx.lb_name(internal), lb_id=ctx.lb_id(internal), location=ctx.config.location,
        cluster=ctx.cluster, uid=ctx.uid, owner=ctx.owner, pool=ctx.pool,
        parts=desired.parts(public_ip_id) if desired is not None else None, pool_addresses=addresses,
        tags=dict(ctx.config.tags))


def _lb_op(ctx: Context, internal: bool, change: LoadBalancerEdit, create: bool,
           produces: str | None = None) -> AzureOp:
    return edit(LOAD_BALANCER, LOAD_BALANCERS, ctx.config.lb_resource_group, ctx.lb_name(internal), change,
                create=create, produces=produces)


def _nic_op(nic_id: str, change: NicEdit) -> AzureOp:
    parts = nic_id.strip("/").split("/")
    return edit(NETWORK_INTERFACE, INTERFACES, parts[3], parts[-1], change)


def _removal(ctx: Context, internal: bool, lb: Body | None) -> tuple[list[AzureOp], Body | None, bool]:
    """Take this Service off load balancer ``internal``: (ops, the body after, whether it may go).

    "May go" is decided again when the delete is sent (``apply.Writer.delete_if_empty``): Services
    leaving at the same time each see the others still there when they plan, and the last one
    out must still find the load balancer empty.
    """
    if lb is None or tag_value(lb.get("tags"), CLUSTER_TAG) != ctx.cluster:
        return [], lb, False  # absent, or not ours to touch
    change = _lb_edit(ctx, internal, None, None, None)
    after = change.apply(lb)
    ops = [] if after is lb else [_lb_op(ctx, internal, change, create=False)]
    return ops, after, bool(ops) or is_empty(after, ctx.pool)


def _lb_goes(ctx: Context, internal: bool) -> AzureOp:
    """Delete the load balancer if it is empty by then (its pool's NICs leave first, in apply)."""
    return delete(LOAD_BALANCER, LOAD_BALANCERS, ctx.config.lb_resource_group, ctx.lb_name(internal),
                  only_if_empty=ctx.pool)


def _membership(ctx: Context, observed: Observed, pools_wanted: Sequence[str]) -> list[AzureOp]:
    """NIC-based pools: every node's primary NIC in the wanted pools; other NICs out of our pools."""
    if observed.nics is None:
        return []
    ops: list[AzureOp] = []
    node_nics = {str(n.get("id", "")).lower() for n in observed.nics.values()}
    for nic in sorted(observed.nics.values(), key=lambda n: str(n.get("id"))):
        change = NicEdit(str(nic["id"]), add=tuple(pools_wanted))
        if change.apply(nic) is not nic:
            ops.append(_nic_op(str(nic["id"]), change))
    for internal in (False, True):
        lb = observed.lbs.get(internal)
        pool = pool_id(ctx.lb_id(internal), ctx.pool)
        for nic_id in sorted({m.split("/ipConfigurations/")[0] for m in pool_members(lb, ctx.pool)}):
            if nic_id.lower() not in node_nics:
                ops.append(_nic_op(nic_id, NicEdit(nic_id, remove=(pool,))))
    return ops


def _pip_matches(want: Body, have: Body) -> bool:
    if failed(have):
        return False
    wp, hp = props(want), props(have)
    for k in _PIP_KEYS:
        w, h = wp.get(k), hp.get(k)
        if k == "dnsSettings":
            w, h = (w or {}).get("domainNameLabel"), (h or {}).get("domainNameLabel")
        elif k == "ipTags":
            w = sorted((t["ipTagType"], t["tag"]) for t in w or [])
            h = sorted((t.get("ipTagType"), t.get("tag")) for t in h or [])
        if w and w != h and not (isinstance(w, str) and isinstance(h, str) and w.lower() == h.lower()):
            return False
        if k in ("dnsSettings", "ipTags") and bool(w) != bool(h):
            return False
    have_tags = {k.lower(): v for k, v in (have.get("tags") or {}).items()}
    return all(have_tags.get(k.lower()) == v for k, v in (want.get("tags") or {}).items())


def _pip_body(want: Body, have: Body | None) -> Body:
    """A managed public IP's PUT body: user tags once set stay (upstream), ownership tags always win."""
    if have is None:
        return want
    tags = {k: v for k, v in (have.get("tags") or {}).items()
            if k.lower() not in {w.lower() for w in want.get("tags") or {}}}
    tags.update(want.get("tags") or {})
    return {**want, "tags": tags}


def plan_ensure(ctx: Context, desired: Desired, observed: Observed, nodes: Sequence[Node], *,
                rules: Any, security_group: str | None) -> ServicePlan:
    """``rules``: a function (destination IP or Ref) -> the Service's RuleSpecs (None: NSG left alone)."""
    ops: list[AzureOp] = []
    internal = desired.internal
    ip: str | Ref | None = None
    public_ip_id = None
    stale_ips: list[Body] = []
    generated = public_ip_name(ctx.cluster, ctx.uid)
    own_group = desired.public_ip.group if desired.public_ip else ctx.config.resource_group
    own = observed.public_ip(own_group, generated)
    if own is not None and not is_owned(own.get("tags"), ctx.owner):
        if desired.public_ip is not None and desired.public_ip.managed:
            raise foreign("public IP", generated, ctx.owner)
        own = None  # someone else's, with our name: never touched
    if desired.public_ip is not None:
        spec = desired.public_ip
        if spec.managed:
            if own is None or not _pip_matches(spec.body, own):
                ops.append(put(PUBLIC_IP, PUBLIC_IPS, spec.group, spec.name, _pip_body(spec.body, own),
                               create=own is None, summary="Standard static public IP", produces=FRONTEND_IP))
                ip = Ref(FRONTEND_IP)
            else:
                ip = props(own).get("ipAddress")
            public_ip_id = network_id(ctx.config.subscription_id, spec.group, "publicIPAddresses", spec.name)
        else:
            user = observed.public_ip(spec.group, spec.name) if spec.name else None
            if user is None:
                what = f"named {spec.name}" if spec.name else f"with address {spec.by_address}"
                raise UserError(f"the public IP {what} was not found in resource group {spec.group}",
                                reason="PublicIPNotFound")
            public_ip_id, ip = str(user["id"]), props(user).get("ipAddress")
            if own is not None:
                stale_ips.append(own)
    elif own is not None:
        stale_ips.append(own)
    addresses = pool_addresses(ctx, nodes)
    wanted = observed.lbs.get(internal)
    change = _lb_edit(ctx, internal, desired, public_ip_id, addresses)
    after = change.apply(wanted)
    if after is not wanted:
        ops.append(_lb_op(ctx, internal, change, create=wanted is None, produces=FRONTEND_IP if internal else None))
        if internal:
            ip = Ref(FRONTEND_IP)
    elif internal:
        ip = props(frontend_of(wanted, desired.frontend)).get("privateIPAddress")
    removal, other_after, other_may_go = _removal(ctx, not internal, observed.lbs.get(not internal))
    ops += removal
    pools_wanted = [pool_id(ctx.lb_id(internal), ctx.pool)]
    if _ours(ctx, other_after) and not is_empty(other_after, ctx.pool):
        pools_wanted.append(pool_id(ctx.lb_id(not internal), ctx.pool))
    ops += _membership(ctx, observed, pools_wanted)
    if other_may_go:
        ops.append(_lb_goes(ctx, not internal))
    ops += [_delete_ip(pip) for pip in stale_ips]
    warnings = list(desired.warnings)
    specs = rules(ip) if rules is not None else None
    if specs is not None:
        ops += _security(ctx, observed, specs, security_group, warnings)
    return ServicePlan(tuple(ops), ip, desired.ports, tuple(warnings))


def _security(ctx: Context, observed: Observed, specs: Sequence[RuleSpec], security_group: str | None,
              warnings: list[ProviderWarning]) -> list[AzureOp]:
    if not security_group:
        if specs:
            warnings.append(ProviderWarning("SecurityGroupNotConfigured", (
                "no securityGroupName in the cloud config: ccm manages no NSG rules, so nothing is opened "
                "and source ranges are not enforced by it")))
        return []
    change = SecurityGroupEdit(security_group, ctx.uid, ctx.owner, tuple(specs))
    current = observed.security_group
    if any(isinstance(d, Ref) for r in specs for d in r.destinations):
        return [edit(SECURITY_GROUP, SECURITY_GROUPS, ctx.config.nsg_resource_group, security_group, change)]
    if change.apply(current) is current:
        return []
    return [edit(SECURITY_GROUP, SECURITY_GROUPS, ctx.config.nsg_resource_group, security_group, change)]


def _delete_ip(pip: Body) -> AzureOp:
    parts = str(pip["id"]).strip("/").split("/")
    return delete(PUBLIC_IP, PUBLIC_IPS, parts[3], parts[-1])


def plan_node_sync(ctx: Context, observed: Observed, nodes: Sequence[Node]) -> tuple[AzureOp, ...]:
    """Backend membership only, on the load balancers that hold this Service."""
    ops: list[AzureOp] = []
    holding = [i for i in (False, True) if _holds(ctx, observed.lbs.get(i))]
    if not holding:
        return ()
    addresses = pool_addresses(ctx, nodes)
    if addresses is not None:
        for internal in holding:
            lb = observed.lbs[internal]
            change = PoolEdit(ctx.lb_name(internal), ctx.pool, addresses)
            if change.apply(lb) is not lb:
                ops.append(_lb_op(ctx, internal, change, create=False))  # type: ignore[arg-type]
        return tuple(ops)
    pools = [pool_id(ctx.lb_id(i), ctx.pool) for i in (False, True) if _ours(ctx, observed.lbs.get(i))]
    return tuple(_membership(ctx, observed, pools))


def _ours(ctx: Context, lb: Body | None) -> bool:
    return lb is not None and tag_value(lb.get("tags"), CLUSTER_TAG) == ctx.cluster


def _holds(ctx: Context, lb: Body | None) -> bool:
    return _ours(ctx, lb) and frontend_names(lb, ctx.uid) != []


def frontend_names(lb: Body | None, uid: str) -> list[str]:
    return [str(f.get("name")) for f in props(lb).get("frontendIPConfigurations") or []
            if belongs(str(f.get("name", "")), uid)]


@dataclasses.dataclass(frozen=True)
class PoolEdit:
    """IP-based pools: the shared pool's members only (node sync)."""

    lb_name: str
    pool: str
    addresses: tuple[Body, ...]

    def describe(self) -> str:
        return f"backend pool {self.pool}: {len(self.addresses)} node address(es)"

    def apply(self, current: Body | None) -> Body | None:
        if current is None:
            return None
        pools = list(props(current).get("backendAddressPools") or [])
        new_pools, changed = merge_pool(pools, self.pool, self.addresses, needed=False)
        if not changed:
            return current
        body = dict(current)
        body["properties"] = {**props(current), "backendAddressPools": new_pools}
        return body


def plan_delete(ctx: Context, observed: Observed) -> tuple[AzureOp, ...]:
    ops: list[AzureOp] = []
    goes = []
    for internal in (False, True):
        removal, _, may_go = _removal(ctx, internal, observed.lbs.get(internal))
        ops += removal
        if may_go:
            goes.append(internal)
    ops += [_lb_goes(ctx, internal) for internal in goes]
    seen: set[str] = set()
    for pip in observed.tagged_ips:
        if str(pip["id"]).lower() not in seen:
            seen.add(str(pip["id"]).lower())
            ops.append(_delete_ip(pip))
    if observed.security_group is not None:
        change = SecurityGroupEdit(str(observed.security_group.get("name")), ctx.uid, ctx.owner, ())
        if change.apply(observed.security_group) is not observed.security_group:
            ops.append(edit(SECURITY_GROUP, SECURITY_GROUPS, ctx.config.nsg_resource_group,
                            str(observed.security_group.get("name")), change))
    return tuple(ops)
