"""NLB: one :class:`~providers.aws.kinds.LoadBalancerKind`.

``desired_nlb``, ``plan_nlb`` and ``plan_nlb_delete`` are pure; ``observe_nlb`` only reads; the
target groups (found by name prefix and tags, attached or not) and the client, health-check
and MTU rules in the node groups belong here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from providers.adapter.operations import Ref
from providers.adapter.ownership import Owner, foreign, merge_tags
from providers.aws.clients import Clients, first_or_none
from providers.aws.kinds import Existing, LoadBalancerKind, Reads, TypePlan
from providers.aws.names import (
    NLB_CLIENT_RULE_MARK,
    NLB_HEALTH_RULE_MARK,
    NLB_MTU_RULE_MARK,
    first_tags,
    is_owned,
    owner_of,
    ownership_tags,
    tag_dict,
    tag_list,
    target_group_name,
    target_group_prefix,
)
from providers.aws.operations import LISTENER, NLB, TARGET_GROUP, AwsCall, call
from providers.aws.rules import Groups, NodeRules, Rule, cidr_rules, mtu_rules, observed_rules, plan_rules
from providers.aws.settings import NLB as NLB_TYPE
from providers.aws.settings import Settings
from providers.aws.world import World
from providers.port import LoadBalancerRequest, PortStatus, UserError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: upstream defaults: TCP traffic-port, interval 30, thresholds 3/3; ETP=Local: HTTP hcnp /healthz, 10, 2/2
HC_CLUSTER = {"interval": 30, "healthy": 3, "unhealthy": 3}
HC_LOCAL = {"interval": 10, "healthy": 2, "unhealthy": 2}
DEFAULT_DEREGISTRATION_DELAY = 300
PROXY_V2 = "proxy_protocol_v2.enabled"
PRESERVE_CLIENT_IP = "preserve_client_ip.enabled"
DEREGISTRATION_DELAY = "deregistration_delay.timeout_seconds"
#: moto and older AWS omit keys still at their default; compare against these
_TG_ATTRIBUTE_DEFAULTS = {PROXY_V2: "false", DEREGISTRATION_DELAY: str(DEFAULT_DEREGISTRATION_DELAY),
                          PRESERVE_CLIENT_IP: "true"}
_LB_ATTRIBUTE_DEFAULTS = {"access_logs.s3.enabled": "false", "load_balancing.cross_zone.enabled": "false",
                          "access_logs.s3.prefix": "", "access_logs.s3.bucket": ""}


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclasses.dataclass(frozen=True)
class TargetGroupSpec:
    name: str
    port: int  # the Service port (the listener's)
    protocol: str  # TCP | UDP | TCP_UDP | TLS (the target group's)
    listener_protocol: str  # TCP | UDP | TCP_UDP | TLS
    node_port: int
    health_check: Mapping[str, Any]
    attributes: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class NlbDesired:
    name: str
    internal: bool
    subnets: tuple[str, ...]
    vpc_id: str
    tags: Mapping[str, str]
    attributes: Mapping[str, str]
    target_groups: tuple[TargetGroupSpec, ...]
    certificate: str | None
    ssl_policy: str | None
    instance_ids: tuple[str, ...]
    #: node group id -> the rules it needs (client, health, MTU)
    node_rules: Mapping[str, frozenset[Rule]]
    port_status: tuple[PortStatus, ...]
    #: SubnetMappings when Elastic IPs or private addresses are pinned (create-only), else ()
    subnet_mappings: tuple[Mapping[str, str], ...] = ()


def _health_check(request: LoadBalancerRequest, settings: Settings) -> dict[str, Any]:
    local = request.health_check is not None
    d = HC_LOCAL if local else HC_CLUSTER
    proto = settings.hc_protocol or ("HTTP" if local else "TCP")
    if proto not in ("TCP", "HTTP", "HTTPS"):
        raise UserError(f"health-check protocol {proto} is not supported by NLB; use TCP, HTTP or HTTPS",
                        reason="InvalidHealthCheck")
    if settings.hc_port is not None:
        port = str(settings.hc_port)
    else:
        port = str(request.health_check.port) if request.health_check else "traffic-port"
    hc: dict[str, Any] = {
        "HealthCheckProtocol": proto,
        "HealthCheckPort": port,
        "HealthCheckIntervalSeconds": settings.hc_interval or d["interval"],
        "HealthyThresholdCount": settings.hc_healthy or d["healthy"],
        "UnhealthyThresholdCount": settings.hc_unhealthy or d["unhealthy"],
    }
    if proto in ("HTTP", "HTTPS"):
        hc["HealthCheckPath"] = settings.hc_path or (request.health_check.path if request.health_check else "/")
    if settings.hc_timeout is not None:
        # upstream parses the timeout and never sends it (cloud-provider-aws#822); we send it
        if settings.hc_timeout >= hc["HealthCheckIntervalSeconds"]:
            raise UserError(f"health-check timeout {settings.hc_timeout}s must be less than the interval "
                            f"{hc['HealthCheckIntervalSeconds']}s", reason="InvalidHealthCheck")
        hc["HealthCheckTimeoutSeconds"] = settings.hc_timeout
    return hc


def _lb_attributes(settings: Settings) -> dict[str, str]:
    out = {"load_balancing.cross_zone.enabled": _flag(settings.cross_zone),
           "access_logs.s3.enabled": _flag(settings.access_log_enabled)}
    if settings.access_log_enabled and settings.access_log_bucket:
        out["access_logs.s3.bucket"] = settings.access_log_bucket
        out["access_logs.s3.prefix"] = settings.access_log_prefix or ""
    return out


def _tg_attributes(request: LoadBalancerRequest, settings: Settings) -> dict[str, str]:
    """PROXY v2 from proxy-protocol, the delay from the draining annotations, then target-group-attributes."""
    delay = (settings.draining_timeout or DEFAULT_DEREGISTRATION_DELAY) if settings.draining_enabled else 0
    out = {PROXY_V2: _flag(settings.proxy_protocol), DEREGISTRATION_DELAY: str(delay),
           **settings.target_group_attributes}
    if out.get(PRESERVE_CLIENT_IP) == "false" and any(p.protocol == "UDP" for p in request.ports):
        raise UserError("preserve_client_ip.enabled=false is not supported with UDP ports",
                        reason="InvalidTargetGroupAttributes")
    return out


def listener_ports(request: LoadBalancerRequest, settings: Settings
                        ) -> tuple[list[tuple[int, str, int, str]], list[PortStatus]]:
    """(port, listener protocol, node port, port name) per listener, merging TCP+UDP on one port into TCP_UDP."""
    by_port: dict[int, list[Any]] = {}
    status: list[PortStatus] = []
    for p in request.ports:
        if p.protocol not in ("TCP", "UDP"):
            status.append(PortStatus(p.port, p.protocol, error="UnsupportedProtocol"))
            continue
        by_port.setdefault(p.port, []).append(p)
    out = []
    for port, group in sorted(by_port.items()):
        ps = group
        first = ps[0]
        proto = first.protocol
        if len(ps) > 1 and {x.protocol for x in ps} == {"TCP", "UDP"} and len({x.node_port for x in ps}) == 1:
            proto = "TCP_UDP"
        else:
            # an NLB listens once per port; a second protocol needs the same nodePort (TCP_UDP)
            status += [PortStatus(x.port, x.protocol, error="PortProtocolConflict") for x in ps[1:]]
            ps = ps[:1]
        if proto == "TCP" and settings.is_ssl_port(port, first.name):
            proto = "TLS"
        out.append((port, proto, first.node_port, first.name))
        status += [PortStatus(x.port, x.protocol) for x in ps]
    return out, status


def desired_nlb(request: LoadBalancerRequest, settings: Settings, world: World, name: str) -> NlbDesired:
    subnets = [s.id for s in world.subnets]
    mappings: list[dict[str, str]] = [{"SubnetId": s} for s in subnets]
    for values, field, what in ((settings.eip_allocations, "AllocationId", "eip-allocations"),
                                (settings.private_ipv4_addresses, "PrivateIPv4Address", "private-ipv4-addresses")):
        if values and len(values) != len(subnets):
            raise UserError(f"{len(values)} {what} for {len(subnets)} subnets; give one per subnet",
                            reason="InvalidSubnetMappings")
        for m, v in zip(mappings, values, strict=False):
            m[field] = v
    listeners, status = listener_ports(request, settings)
    if not listeners:
        raise UserError("an NLB needs at least one TCP or UDP port", reason="UnsupportedProtocol")
    hc = _health_check(request, settings)
    tg_attrs = _tg_attributes(request, settings)
    tgs = []
    for port, proto, node_port, _ in listeners:
        tg_proto = "TLS" if proto == "TLS" and settings.backend_protocol == "ssl" else \
            ("TCP" if proto == "TLS" else proto)
        tgs.append(TargetGroupSpec(
            name=target_group_name(name, port, tg_proto, node_port, hc["HealthCheckProtocol"]),
            port=port, protocol=tg_proto, listener_protocol=proto, node_port=node_port,
            health_check=hc, attributes=tg_attrs))
    # node rules (upstream's table): clients on the nodePorts, health checks from the subnets, MTU
    client_rules: set[Rule] = set()
    for tg in tgs:
        for proto in ("tcp", "udp") if tg.protocol == "TCP_UDP" else ("udp" if tg.protocol == "UDP" else "tcp",):
            client_rules |= cidr_rules(proto, [tg.node_port], request.source_ranges, NLB_CLIENT_RULE_MARK + name)
    hc_port = hc["HealthCheckPort"]
    hc_ports = sorted({tg.node_port for tg in tgs} if hc_port == "traffic-port" else {int(hc_port)})
    open_tcp = {r.from_port for r in client_rules if r.protocol == "tcp" and r.source == "0.0.0.0/0"}
    health_rules = cidr_rules("tcp", [p for p in hc_ports if p not in open_tcp],
                              sorted({s.cidr for s in world.subnets if s.cidr}), NLB_HEALTH_RULE_MARK + name)
    rules = frozenset(client_rules | health_rules | mtu_rules(request.source_ranges, NLB_MTU_RULE_MARK + name))
    return NlbDesired(
        name=name,
        internal=settings.internal,
        subnets=tuple(s.id for s in world.subnets),
        vpc_id=world.subnets[0].vpc_id if world.subnets else "",
        tags=merge_tags(settings.extra_tags, ownership_tags(owner_of(request))),
        attributes=_lb_attributes(settings),
        target_groups=tuple(tgs),
        certificate=settings.ssl_cert,
        ssl_policy=settings.ssl_negotiation_policy,
        instance_ids=world.instance_ids,
        node_rules={g: rules for g in world.node_groups},
        port_status=tuple(sorted(status, key=lambda s: (s.port, s.protocol))),
        subnet_mappings=tuple(mappings) if settings.eip_allocations or settings.private_ipv4_addresses else (),
    )


@dataclasses.dataclass(frozen=True)
class ObservedTargetGroup:
    tg: Mapping[str, Any]
    attributes: Mapping[str, str]
    targets: frozenset[tuple[str, int]]

    @property
    def arn(self) -> str:
        return str(self.tg["TargetGroupArn"])


@dataclasses.dataclass(frozen=True)
class NlbObserved:
    owner: Owner
    existing: Existing | None = None
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    listeners: Sequence[Mapping[str, Any]] = ()
    #: our target groups by name (ownership-tagged, attached or not)
    target_groups: Mapping[str, ObservedTargetGroup] = dataclasses.field(default_factory=dict)
    #: target-group names with our prefix that someone else owns
    foreign_target_groups: frozenset[str] = frozenset()
    groups: Groups = dataclasses.field(default_factory=dict)

    @property
    def lb(self) -> Mapping[str, Any] | None:
        return self.existing.description if self.existing is not None else None


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def observe_target_groups(clients: Clients, owner: Owner, name: str, reads: Reads
                          ) -> tuple[dict[str, ObservedTargetGroup], frozenset[str]]:
    """Our target groups by name prefix + tags, also those a crash left unattached.

    Attributes are read only with ``reads.details``, targets only with ``reads.targets``.
    """
    prefix = target_group_prefix(name)
    candidates = [tg for page in clients.elbv2.get_paginator("describe_target_groups").paginate()
                  for tg in page.get("TargetGroups", ()) if tg["TargetGroupName"].startswith(prefix)]
    tags: dict[str, dict[str, str]] = {}
    for chunk in _chunks([tg["TargetGroupArn"] for tg in candidates], 20):
        for d in clients.elbv2.describe_tags(ResourceArns=list(chunk))["TagDescriptions"]:
            tags[d["ResourceArn"]] = tag_dict(d.get("Tags"))
    ours: dict[str, ObservedTargetGroup] = {}
    foreign_names = set()
    for tg in candidates:
        if not is_owned(tags.get(tg["TargetGroupArn"], {}), owner):
            foreign_names.add(tg["TargetGroupName"])
            continue
        arn = tg["TargetGroupArn"]
        attrs: dict[str, str] = {}
        if reads.details:
            attrs = {a["Key"]: a["Value"] for a in
                     clients.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
        registered: frozenset[tuple[str, int]] = frozenset()
        if reads.targets:
            registered = frozenset(
                (d["Target"]["Id"], int(d["Target"].get("Port", tg.get("Port", 0)))) for d in
                clients.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"])
        ours[tg["TargetGroupName"]] = ObservedTargetGroup(tg, attrs, registered)
    return ours, frozenset(foreign_names)


def observe_nlb(clients: Clients, owner: Owner, name: str, *, existing: Existing | None,
                groups: Groups, reads: Reads) -> NlbObserved:
    target_groups, foreign_tgs = observe_target_groups(clients, owner, name, reads)
    listeners: list[Mapping[str, Any]] = []
    attributes: dict[str, str] = {}
    if existing is not None:
        arn = existing.description["LoadBalancerArn"]
        listeners = [lst for page in clients.elbv2.get_paginator("describe_listeners").paginate(
            LoadBalancerArn=arn) for lst in page.get("Listeners", ())]
        if reads.details:
            attributes = {a["Key"]: a["Value"] for a in
                          clients.elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    return NlbObserved(owner, existing, attributes, tuple(listeners), target_groups, foreign_tgs, groups)


def _hc_changes(spec: TargetGroupSpec, tg: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.health_check.items() if tg.get(k) != v}


def _listener_params(desired: NlbDesired, tg: TargetGroupSpec, tg_arn: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"Protocol": tg.listener_protocol,
                              "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg_arn}]}
    if tg.listener_protocol == "TLS":
        params["Certificates"] = [{"CertificateArn": desired.certificate}]
        if desired.ssl_policy:
            params["SslPolicy"] = desired.ssl_policy
    return params


def _listener_differs(want: Mapping[str, Any], have: Mapping[str, Any]) -> bool:
    if have.get("Protocol") != want["Protocol"]:
        return True
    if [a.get("TargetGroupArn") for a in have.get("DefaultActions", ())] != \
            [a["TargetGroupArn"] for a in want["DefaultActions"]]:
        return True
    if "Certificates" in want and [c.get("CertificateArn") for c in have.get("Certificates", ())] != \
            [c["CertificateArn"] for c in want["Certificates"]]:
        return True
    return "SslPolicy" in want and have.get("SslPolicy") != want["SslPolicy"]


def _attribute_list(attrs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(attrs.items())]


def plan_nlb(desired: NlbDesired, observed: NlbObserved) -> TypePlan:
    ops: list[AwsCall] = []
    notes: list[str] = []
    name = desired.name
    if clash := sorted(observed.foreign_target_groups & {tg.name for tg in desired.target_groups}):
        raise foreign("target group", clash[0], observed.owner)
    lb = observed.lb
    lb_arn: Any
    if lb is None:
        scheme = "internal" if desired.internal else "internet-facing"
        params: dict[str, Any] = {"Name": name, "Type": "network", "Scheme": scheme, "Tags": tag_list(desired.tags)}
        if desired.subnet_mappings:
            params["SubnetMappings"] = [dict(m) for m in desired.subnet_mappings]
        else:
            params["Subnets"] = list(desired.subnets)
        ops.append(call(NLB, name, "elbv2", "create_load_balancer", params, produces="lb",
                        result_path=("LoadBalancers", 0), summary=scheme))
        lb_arn = Ref("lb", ("LoadBalancerArn",))
        have_attrs: Mapping[str, str] = {}
        have_tags: Mapping[str, str] = {}
    else:
        lb_arn = lb["LoadBalancerArn"]
        have_attrs = observed.attributes
        have_tags = observed.existing.tags if observed.existing is not None else {}
        if (lb.get("Scheme") == "internal") != desired.internal:
            notes.append(f"scheme is {lb.get('Scheme')}; aws-load-balancer-internal applies only when the "
                         "NLB is created (delete and recreate the Service to change it)")
        have_subnets = {az.get("SubnetId") for az in lb.get("AvailabilityZones", ())}
        if desired.subnets and have_subnets != set(desired.subnets):
            notes.append(f"subnets are {', '.join(sorted(s for s in have_subnets if s))}; NLB subnets are set "
                         "only when the NLB is created")
        if add := {k: v for k, v in desired.tags.items() if have_tags.get(k) != v}:
            ops.append(call(NLB, name, "elbv2", "add_tags", {"ResourceArns": [lb_arn], "Tags": tag_list(add)},
                            summary=f"tag {', '.join(sorted(add))}"))
    changed = {k: v for k, v in desired.attributes.items()
               if have_attrs.get(k, _LB_ATTRIBUTE_DEFAULTS.get(k)) != v}
    if changed:
        ops.append(call(NLB, name, "elbv2", "modify_load_balancer_attributes",
                        {"LoadBalancerArn": lb_arn, "Attributes": _attribute_list(changed)},
                        summary=f"attributes {', '.join(f'{k}={v}' for k, v in sorted(changed.items()))}"))
    # target groups, their targets, then the listeners that forward to them
    listeners = {int(lst["Port"]): lst for lst in observed.listeners}
    for spec in desired.target_groups:
        have = observed.target_groups.get(spec.name)
        if have is None:
            ops.append(call(TARGET_GROUP, spec.name, "elbv2", "create_target_group", {
                "Name": spec.name, "Protocol": spec.protocol, "Port": spec.node_port, "VpcId": desired.vpc_id,
                "TargetType": "instance", **spec.health_check, "Tags": tag_list(desired.tags)},
                produces=f"tg:{spec.name}", result_path=("TargetGroups", 0, "TargetGroupArn"),
                summary=f"{spec.protocol} to node port {spec.node_port}"))
            tg_arn: Any = Ref(f"tg:{spec.name}")
            have_targets: frozenset[tuple[str, int]] = frozenset()
            have_tg_attrs: Mapping[str, str] = {}
        else:
            tg_arn = have.arn
            have_targets, have_tg_attrs = have.targets, have.attributes
            if hc := _hc_changes(spec, have.tg):
                ops.append(call(TARGET_GROUP, spec.name, "elbv2", "modify_target_group",
                                {"TargetGroupArn": tg_arn, **hc}, summary="health check"))
        if attrs := {k: v for k, v in spec.attributes.items()
                     if have_tg_attrs.get(k, _TG_ATTRIBUTE_DEFAULTS.get(k)) != v}:
            ops.append(call(TARGET_GROUP, spec.name, "elbv2", "modify_target_group_attributes",
                            {"TargetGroupArn": tg_arn, "Attributes": _attribute_list(attrs)},
                            summary=f"attributes {', '.join(f'{k}={v}' for k, v in sorted(attrs.items()))}"))
        want_targets = {(i, spec.node_port) for i in desired.instance_ids}
        if register := sorted(want_targets - have_targets):
            for chunk in _chunks(register, 100):
                ops.append(call(TARGET_GROUP, spec.name, "elbv2", "register_targets", {
                    "TargetGroupArn": tg_arn, "Targets": [{"Id": i, "Port": p} for i, p in chunk]},
                    summary=f"register {len(chunk)} targets"))
        if deregister := sorted(have_targets - want_targets):
            for chunk in _chunks(deregister, 100):
                ops.append(call(TARGET_GROUP, spec.name, "elbv2", "deregister_targets", {
                    "TargetGroupArn": tg_arn, "Targets": [{"Id": i, "Port": p} for i, p in chunk]},
                    summary=f"deregister {len(chunk)} targets"))
        want = _listener_params(desired, spec, tg_arn)
        current = listeners.get(spec.port)
        if current is None:
            ops.append(call(LISTENER, f"{name}:{spec.port}", "elbv2", "create_listener",
                            {"LoadBalancerArn": lb_arn, "Port": spec.port, **want, "Tags": tag_list(desired.tags)},
                            summary=f"{spec.listener_protocol} {spec.port} -> {spec.name}"))
        elif _listener_differs(want, current):
            ops.append(call(LISTENER, f"{name}:{spec.port}", "elbv2", "modify_listener",
                            {"ListenerArn": current["ListenerArn"], **want},
                            summary=f"{spec.listener_protocol} {spec.port} -> {spec.name}"))
    wanted_ports = {spec.port for spec in desired.target_groups}
    for port, lst in sorted(listeners.items()):
        if port not in wanted_ports:
            ops.append(call(LISTENER, f"{name}:{port}", "elbv2", "delete_listener", {"ListenerArn": lst["ListenerArn"]},
                            ignore=("ListenerNotFound",)))
    wanted_tgs = {spec.name for spec in desired.target_groups}
    for tg_name, old in sorted(observed.target_groups.items()):
        if tg_name not in wanted_tgs:
            ops.append(call(TARGET_GROUP, tg_name, "elbv2", "delete_target_group", {"TargetGroupArn": old.arn},
                            ignore=("TargetGroupNotFound",)))
    return TypePlan(tuple(ops), tuple(notes), desired.port_status, NlbNodeRules(name, desired.node_rules))


@dataclasses.dataclass(frozen=True)
class NlbNodeRules(NodeRules):
    """Our client and health rules are ours alone; an MTU rule is shared by every NLB whose clients
    come from that CIDR (AWS keeps one rule per source), so it goes when no NLB's client rule needs it."""

    name: str
    want: Mapping[str, frozenset[Rule]] = dataclasses.field(default_factory=dict)

    def plan(self, groups: Groups) -> list[AwsCall]:
        mine = (NLB_CLIENT_RULE_MARK + self.name, NLB_HEALTH_RULE_MARK + self.name)
        ops: list[AwsCall] = []
        for gid in sorted(set(groups) | set(self.want)):
            observed = observed_rules(groups.get(gid, ()))
            desired = self.want.get(gid, frozenset())
            needed = {r.source for r in observed
                      if r.description.startswith(NLB_CLIENT_RULE_MARK) and r.description not in mine}
            needed |= {r.source for r in desired if r.description.startswith(NLB_CLIENT_RULE_MARK)}

            def owned(r: Rule, needed: set[str] = needed) -> bool:
                if r.description.startswith(NLB_MTU_RULE_MARK):
                    return r.source not in needed
                return r.description in mine

            ops += plan_rules(gid, desired, observed, owned=owned)
        return ops


def plan_nlb_delete(name: str, observed: NlbObserved) -> tuple[AwsCall, ...]:
    """The NLB (its listeners go with it), then our target groups (node rules: ``NlbNodeRules``)."""
    ops: list[AwsCall] = []
    if observed.lb is not None:
        ops.append(call(NLB, name, "elbv2", "delete_load_balancer", {"LoadBalancerArn": observed.lb["LoadBalancerArn"]},
                        ignore=("LoadBalancerNotFound",)))
    for tg_name, have in sorted(observed.target_groups.items()):
        ops.append(call(TARGET_GROUP, tg_name, "elbv2", "delete_target_group", {"TargetGroupArn": have.arn},
                        ignore=("TargetGroupNotFound",)))
    return tuple(ops)


class NetworkLb(LoadBalancerKind[NlbDesired, NlbObserved]):
    kind = NLB_TYPE
    label = "NLB"
    # the steps are this module's functions: desired and plans are pure, observe only reads
    desired = staticmethod(desired_nlb)
    observe = staticmethod(observe_nlb)
    plan = staticmethod(plan_nlb)
    plan_delete = staticmethod(plan_nlb_delete)

    def describe(self, clients: Clients, name: str) -> tuple[Mapping[str, Any], dict[str, str]] | None:
        lb = first_or_none(lambda: clients.elbv2.describe_load_balancers(Names=[name])["LoadBalancers"],
                           ("LoadBalancerNotFound", "LoadBalancerNotFoundException"))
        if lb is None:
            return None
        tags = clients.elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"]
        return lb, first_tags(tags)

    def owned(self, description: Mapping[str, Any], tags: Mapping[str, str], owner: Owner) -> bool:
        # an ALB or gateway load balancer with our name is never ours
        return description.get("Type", "network") == "network" and is_owned(tags, owner)

    def nothing(self, owner: Owner, name: str) -> NlbObserved:
        return NlbObserved(owner)

    def node_rules_delete(self, name: str, observed: NlbObserved) -> NodeRules:
        return NlbNodeRules(name)

    def port_status(self, request: LoadBalancerRequest) -> tuple[PortStatus, ...]:
        return tuple(listener_ports(request, Settings())[1])
