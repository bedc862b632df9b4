"""Classic ELB: one :class:`~providers.aws.kinds.LoadBalancerKind`.

``desired_clb``, ``plan_clb`` and ``plan_clb_delete`` are pure; ``observe_clb`` only reads; the
managed security group ``k8s-elb-<lb>`` and the node-group rules admitting it belong here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ccm.annotations import aws as ann
from providers.adapter.operations import Ref, resolve
from providers.adapter.ownership import Owner, merge_tags
from providers.adapter.portstatus import port_statuses
from providers.aws.clients import Clients, first_or_none
from providers.aws.kinds import STAYS_INTERNAL, Existing, LoadBalancerKind, Reads, TypePlan
from providers.aws.names import (
    CLB_NODE_RULE_MARK,
    first_tags,
    is_owned,
    owner_of,
    ownership_tags,
    security_group_name,
    tag_dict,
    tag_list,
)
from providers.aws.operations import CLB, SECURITY_GROUP, AwsCall, call
from providers.aws.rules import Groups, NodeRules, Rule, cidr_rules, mtu_rules, observed_rules, plan_rules
from providers.aws.settings import CLB as CLB_TYPE
from providers.aws.settings import Settings, annotation_error
from providers.aws.world import World
from providers.port import LoadBalancerRequest, PortStatus, UserError

log = logging.getLogger(__name__)

PROXY_POLICY = "k8s-proxyprotocol-enabled"
SSL_POLICY_PREFIX = "k8s-SSLNegotiationPolicy-"
#: upstream defaults (aws_loadbalancer.go): thresholds 2/6, timeout 5 s, interval 10 s
HC_DEFAULTS = {"HealthyThreshold": 2, "UnhealthyThreshold": 6, "Timeout": 5, "Interval": 10}
DEFAULT_IDLE_TIMEOUT = 60
DEFAULT_EMIT_INTERVAL = 60


@dataclasses.dataclass(frozen=True)
class Listener:
    protocol: str
    port: int
    instance_protocol: str
    instance_port: int
    certificate: str | None = None

    def api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Protocol": self.protocol, "LoadBalancerPort": self.port,
                               "InstanceProtocol": self.instance_protocol, "InstancePort": self.instance_port}
        if self.certificate:
            out["SSLCertificateId"] = self.certificate
        return out

    @property
    def secure(self) -> bool:
        return self.protocol in ("SSL", "HTTPS")

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Listener:
        return cls(str(d["Protocol"]).upper(), int(d["LoadBalancerPort"]),
                   str(d.get("InstanceProtocol") or d["Protocol"]).upper(), int(d["InstancePort"]),
                   d.get("SSLCertificateId") or None)


@dataclasses.dataclass(frozen=True)
class ClbDesired:
    name: str
    internal: bool
    subnets: tuple[str, ...]
    vpc_id: str
    listeners: tuple[Listener, ...]
    health_check: Mapping[str, Any]
    attributes: Mapping[str, Mapping[str, Any]]
    tags: Mapping[str, str]
    instance_ids: tuple[str, ...]
    #: True: we create and own the group k8s-elb-<name>; False: the user's groups replace it
    managed_sg: bool
    sg_description: str
    #: groups attached besides the managed one (security-groups or extra-security-groups)
    other_sgs: tuple[str, ...]
    sg_rules: frozenset[Rule]
    ssl_policy: str | None
    proxy_protocol: bool
    node_ports: tuple[int, ...]
    node_groups: tuple[str, ...]
    port_status: tuple[PortStatus, ...]


def build_listener(settings: Settings, port: int, node_port: int, name: str) -> Listener:
    """Upstream buildListener: the certificate's ports get SSL/HTTPS, backend-protocol picks L4/L7."""
    bp = settings.backend_protocol
    if settings.is_ssl_port(port, name):
        if bp in ("http", "https"):
            return Listener("HTTPS", port, bp.upper(), node_port, settings.ssl_cert)
        if bp in ("", "ssl", "tcp"):
            return Listener("SSL", port, "SSL" if bp == "ssl" else "TCP", node_port, settings.ssl_cert)
        raise annotation_error(ann.BACKEND_PROTOCOL, bp, "is invalid for a certificate port: use http, https, ssl "
                               "or tcp")
    if bp == "http":
        return Listener("HTTP", port, "HTTP", node_port)
    return Listener("TCP", port, "TCP", node_port)


def health_check(request: LoadBalancerRequest, settings: Settings, listeners: Sequence[Listener]) -> dict[str, Any]:
    """TCP on the first nodePort (SSL for https/ssl backends), or HTTP:<hcnp>/healthz for Local;
    the healthcheck-protocol/-port/-path annotations override each part (upstream)."""
    local = request.health_check is not None
    default_proto = "HTTP" if local else ("SSL" if settings.backend_protocol in ("https", "ssl") else "TCP")
    proto = settings.hc_protocol or default_proto
    if isinstance(settings.hc_port, int):
        port = settings.hc_port
    elif request.health_check is not None and settings.hc_port is None:
        port = request.health_check.port
    else:
        port = listeners[0].instance_port
    path = ""
    if proto in ("HTTP", "HTTPS"):
        path = settings.hc_path or (request.health_check.path if request.health_check else "/")
    target = f"{proto}:{port}{path}"
    hc: dict[str, Any] = {"Target": target,
          "HealthyThreshold": settings.hc_healthy or HC_DEFAULTS["HealthyThreshold"],
          "UnhealthyThreshold": settings.hc_unhealthy or HC_DEFAULTS["UnhealthyThreshold"],
          "Interval": settings.hc_interval or HC_DEFAULTS["Interval"],
          "Timeout": settings.hc_timeout or HC_DEFAULTS["Timeout"]}
    return hc


def attributes(settings: Settings) -> dict[str, dict[str, Any]]:
    """Upstream forces draining off, idle 60 s and cross-zone off unless annotated: console drift is reverted."""
    access: dict[str, Any] = {"Enabled": settings.access_log_enabled}
    if settings.access_log_enabled:
        access.update(S3BucketName=settings.access_log_bucket,
                      EmitInterval=settings.access_log_emit_interval or DEFAULT_EMIT_INTERVAL,
                      S3BucketPrefix=settings.access_log_prefix or "")
    draining: dict[str, Any] = {"Enabled": settings.draining_enabled}
    if settings.draining_timeout is not None:
        draining["Timeout"] = settings.draining_timeout
    return {
        "AccessLog": access,
        "ConnectionDraining": draining,
        "ConnectionSettings": {"IdleTimeout": settings.idle_timeout or DEFAULT_IDLE_TIMEOUT},
        "CrossZoneLoadBalancing": {"Enabled": settings.cross_zone},
    }


def desired_clb(request: LoadBalancerRequest, settings: Settings, world: World, name: str) -> ClbDesired:
    # upstream fails the whole Service ("Only TCP LoadBalancer is supported for AWS ELB");
    # we serve the TCP ports and report the rest in status.loadBalancer.ingress[].ports
    listeners = [build_listener(settings, p.port, p.node_port, p.name) for p in request.ports if p.protocol == "TCP"]
    if not listeners:
        raise UserError("a Classic ELB needs at least one TCP port", reason="UnsupportedProtocol")
    managed = not settings.security_groups
    sg_rules: set[Rule] = set()
    if managed:
        sg_rules = cidr_rules("tcp", sorted({lst.port for lst in listeners}), request.source_ranges)
        sg_rules |= mtu_rules(request.source_ranges)
    node_ports = {lst.instance_port for lst in listeners}
    if request.health_check is not None:
        node_ports.add(request.health_check.port)
    return ClbDesired(
        name=name,
        internal=settings.internal,
        subnets=tuple(s.id for s in world.subnets),
        vpc_id=world.subnets[0].vpc_id if world.subnets else "",
        listeners=tuple(listeners),
        health_check=health_check(request, settings, listeners),
        attributes=attributes(settings),
        tags=merge_tags(settings.extra_tags, ownership_tags(owner_of(request))),
        instance_ids=world.instance_ids,
        managed_sg=managed,
        sg_description=f"Security group for Kubernetes ELB {name} ({request.key})",
        other_sgs=settings.security_groups or settings.extra_security_groups,
        sg_rules=frozenset(sg_rules),
        ssl_policy=settings.ssl_negotiation_policy,
        proxy_protocol=settings.proxy_protocol,
        node_ports=tuple(sorted(node_ports)),
        node_groups=tuple(sorted(world.node_groups)),
        port_status=port_statuses(request.ports, ("TCP",)),
    )


@dataclasses.dataclass(frozen=True)
class ClbObserved:
    existing: Existing | None = None
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    policy_names: frozenset[str] = frozenset()
    #: our managed group (found by name and tags), with its IpPermissions
    sg: Mapping[str, Any] | None = None
    #: node/cluster group id -> IpPermissions, for node-rule diffs
    groups: Groups = dataclasses.field(default_factory=dict)

    @property
    def lb(self) -> Mapping[str, Any] | None:
        return self.existing.description if self.existing is not None else None

    @property
    def sg_id(self) -> str | None:
        return str(self.sg["GroupId"]) if self.sg is not None else None


def find_managed_sg(clients: Clients, owner: Owner, name: str) -> Mapping[str, Any] | None:
    """Our managed group by name and ownership tags (a same-named group of someone else is not ours)."""
    groups = clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [security_group_name(name)]}])["SecurityGroups"]
    ours = [g for g in groups if is_owned(tag_dict(g.get("Tags")), owner)]
    return ours[0] if ours else None


def observe_clb(clients: Clients, owner: Owner, name: str, *, existing: Existing | None,
                groups: Groups, reads: Reads) -> ClbObserved:
    attributes: Mapping[str, Any] = {}
    policy_names: frozenset[str] = frozenset()
    if existing is not None and reads.details:
        attributes = clients.elb.describe_load_balancer_attributes(LoadBalancerName=name)["LoadBalancerAttributes"]
        pols = clients.elb.describe_load_balancer_policies(LoadBalancerName=name)["PolicyDescriptions"]
        policy_names = frozenset(p["PolicyName"] for p in pols)
    return ClbObserved(existing=existing, attributes=attributes, policy_names=policy_names,
                       sg=find_managed_sg(clients, owner, name), groups=groups)


def _attributes_differ(desired: Mapping[str, Mapping[str, Any]], observed: Mapping[str, Any]) -> bool:
    for section, want in desired.items():
        have = observed.get(section) or {}
        for k, v in want.items():
            if k == "S3BucketPrefix" and (have.get(k) or "") == v:
                continue
            if have.get(k) != v:
                return True
    return False


@dataclasses.dataclass(frozen=True)
class ClbNodeRules(NodeRules):
    """Node groups open to the load balancer's group on the node ports; our other rules revoked.

    ``source`` is the group the rules admit (ours, possibly a Ref to one this plan creates, or
    the user's first); ``revoke_source`` also revokes any rule admitting that group (deletion:
    the group cannot go while a rule still names it).
    """

    name: str
    source: str | Ref | None
    node_ports: tuple[int, ...] = ()
    node_groups: tuple[str, ...] = ()
    revoke_source: str | None = None

    def resolved(self, refs: Mapping[str, Any], *, placeholders: bool = False) -> ClbNodeRules:
        if isinstance(self.source, Ref):
            return dataclasses.replace(self, source=resolve(self.source, refs, placeholders=placeholders))
        return self

    def plan(self, groups: Groups) -> list[AwsCall]:
        mark = CLB_NODE_RULE_MARK + self.name
        source = self.source
        assert not isinstance(source, Ref), "resolve the group made by the plan first"
        want = {Rule("tcp", p, p, source, mark) for p in self.node_ports} if source else set()

        def owned(r: Rule) -> bool:
            return r.description == mark or (self.revoke_source is not None and r.source == self.revoke_source)

        ops: list[AwsCall] = []
        for gid in sorted(set(groups) | set(self.node_groups)):
            ops += plan_rules(gid, want if gid in self.node_groups else set(), observed_rules(groups.get(gid, ())),
                              owned=owned)
        return ops


def rule_source(desired: ClbDesired, managed_sg: str | Ref | None) -> str | Ref | None:
    """The group node rules admit: ours, else the first of the user's (upstream)."""
    return managed_sg or (desired.other_sgs[0] if desired.other_sgs else None)


def plan_clb(desired: ClbDesired, observed: ClbObserved) -> TypePlan:
    """The calls that turn ``observed`` into ``desired``, and the create-only differences left alone."""
    ops: list[AwsCall] = []
    notes: list[str] = []
    name = desired.name
    # 1. the managed security group and its rules (before the load balancer that uses it)
    sg_id: str | Ref | None = None
    if desired.managed_sg:
        if observed.sg is None:
            sg_name = security_group_name(name)
            ops.append(call(SECURITY_GROUP, sg_name, "ec2", "create_security_group", {
                "GroupName": sg_name, "Description": desired.sg_description, "VpcId": desired.vpc_id,
                "TagSpecifications": [{"ResourceType": "security-group", "Tags": tag_list(desired.tags)}],
            }, produces="sg", result_path=("GroupId",)))
            sg_id = Ref("sg")
            ops += plan_rules(sg_id, desired.sg_rules, ())
        else:
            sg_id = observed.sg["GroupId"]
            ops += plan_rules(sg_id, desired.sg_rules, observed_rules(observed.sg.get("IpPermissions", ())))
    groups = ([sg_id] if sg_id is not None else []) + list(desired.other_sgs)
    # 2. the load balancer: create, or sync what Classic ELB can change in place
    lb = observed.lb
    new_listeners = set(desired.listeners)
    if lb is None:
        params: dict[str, Any] = {
            "LoadBalancerName": name, "Listeners": [lst.api() for lst in desired.listeners],
            "Subnets": list(desired.subnets), "SecurityGroups": groups, "Tags": tag_list(desired.tags)}
        if desired.internal:
            params["Scheme"] = "internal"
        ops.append(call(CLB, name, "elb", "create_load_balancer", params, produces="lb",
                        summary=("internal" if desired.internal else "internet-facing") +
                        f", listeners {', '.join(str(lst.port) for lst in desired.listeners)}"))
    else:
        if lb.get("Scheme") == "internal" and not desired.internal:
            notes.append(STAYS_INTERNAL)
        have_subnets = set(lb.get("Subnets", ()))
        if attach := sorted(set(desired.subnets) - have_subnets):
            ops.append(call(CLB, name, "elb", "attach_load_balancer_to_subnets",
                            {"LoadBalancerName": name, "Subnets": attach}, summary=f"attach {', '.join(attach)}"))
        if desired.subnets and (detach := sorted(have_subnets - set(desired.subnets))):
            ops.append(call(CLB, name, "elb", "detach_load_balancer_from_subnets",
                            {"LoadBalancerName": name, "Subnets": detach}, summary=f"detach {', '.join(detach)}"))
        if set(lb.get("SecurityGroups", ())) != set(groups):  # AWS does not promise to keep our order
            ops.append(call(CLB, name, "elb", "apply_security_groups_to_load_balancer",
                            {"LoadBalancerName": name, "SecurityGroups": groups}, summary="set security groups"))
        have = {Listener.from_api(d["Listener"]): d for d in lb.get("ListenerDescriptions", ())}
        if stale := sorted({lst.port for lst in have if lst not in new_listeners}):
            ops.append(call(CLB, name, "elb", "delete_load_balancer_listeners",
                            {"LoadBalancerName": name, "LoadBalancerPorts": stale},
                            summary=f"delete listeners {', '.join(map(str, stale))}"))
        if missing := [lst for lst in desired.listeners if lst not in have]:
            ops.append(call(CLB, name, "elb", "create_load_balancer_listeners",
                            {"LoadBalancerName": name, "Listeners": [lst.api() for lst in missing]},
                            summary=f"create listeners {', '.join(str(lst.port) for lst in missing)}",
                            ignore=("DuplicateListener",)))
        new_listeners = set(missing)
        if add := {k: v for k, v in desired.tags.items() if observed.existing.tags.get(k) != v}:  # type: ignore[union-attr]
            # upstream only adds: a tag the user dropped from the annotation may be someone else's now
            ops.append(call(CLB, name, "elb", "add_tags", {"LoadBalancerNames": [name], "Tags": tag_list(add)},
                            summary=f"tag {', '.join(sorted(add))}"))
    ops += _policy_ops(desired, observed, new_listeners)
    # 3. health check and attributes
    if lb is None or dict(lb.get("HealthCheck") or {}) != dict(desired.health_check):
        ops.append(call(CLB, name, "elb", "configure_health_check",
                        {"LoadBalancerName": name, "HealthCheck": dict(desired.health_check)},
                        summary=f"health check {desired.health_check['Target']}"))
    if lb is None or _attributes_differ(desired.attributes, observed.attributes):
        ops.append(call(CLB, name, "elb", "modify_load_balancer_attributes", {
            "LoadBalancerName": name, "LoadBalancerAttributes": {k: dict(v) for k, v in desired.attributes.items()}},
            summary="attributes"))
    # 4. instances last, so they join a fully configured load balancer (node rules: ClbNodeRules)
    have_ids = {i["InstanceId"] for i in (lb or {}).get("Instances", ())}
    if register := sorted(set(desired.instance_ids) - have_ids):
        ops.append(call(CLB, name, "elb", "register_instances_with_load_balancer",
                        {"LoadBalancerName": name, "Instances": [{"InstanceId": i} for i in register]},
                        summary=f"register {len(register)} instances"))
    if deregister := sorted(have_ids - set(desired.instance_ids)):
        ops.append(call(CLB, name, "elb", "deregister_instances_from_load_balancer",
                        {"LoadBalancerName": name, "Instances": [{"InstanceId": i} for i in deregister]},
                        summary=f"deregister {len(deregister)} instances"))
    # 5. a managed group left over from before security-groups was set
    if not desired.managed_sg and observed.sg_id is not None:
        ops += ClbNodeRules(name, None, revoke_source=observed.sg_id).plan(observed.groups)
        ops.append(call(SECURITY_GROUP, observed.sg_id, "ec2", "delete_security_group",
                        {"GroupId": observed.sg_id}, ignore=("InvalidGroup.NotFound",)))
    source = rule_source(desired, sg_id if desired.managed_sg else None)
    rules = ClbNodeRules(name, source, desired.node_ports, desired.node_groups)
    return TypePlan(tuple(ops), tuple(notes), desired.port_status, rules)


def _policy_ops(desired: ClbDesired, observed: ClbObserved, new_listeners: set[Listener]) -> list[AwsCall]:
    name = desired.name
    ops: list[AwsCall] = []
    lb = observed.lb or {}
    ssl_policy = SSL_POLICY_PREFIX + desired.ssl_policy if desired.ssl_policy else None
    if ssl_policy and ssl_policy not in observed.policy_names:
        ops.append(call(CLB, name, "elb", "create_load_balancer_policy", {
            "LoadBalancerName": name, "PolicyName": ssl_policy, "PolicyTypeName": "SSLNegotiationPolicyType",
            "PolicyAttributes": [{"AttributeName": "Reference-Security-Policy",
                                  "AttributeValue": desired.ssl_policy}]},
            summary=f"create policy {ssl_policy}", ignore=("DuplicatePolicyName",)))
    if desired.proxy_protocol and PROXY_POLICY not in observed.policy_names:
        ops.append(call(CLB, name, "elb", "create_load_balancer_policy", {
            "LoadBalancerName": name, "PolicyName": PROXY_POLICY, "PolicyTypeName": "ProxyProtocolPolicyType",
            "PolicyAttributes": [{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}]},
            summary=f"create policy {PROXY_POLICY}", ignore=("DuplicatePolicyName",)))
    have_listener_pols = {int(d["Listener"]["LoadBalancerPort"]): list(d.get("PolicyNames", ()))
                          for d in lb.get("ListenerDescriptions", ())}
    for lst in desired.listeners:
        have = [] if lst in new_listeners else have_listener_pols.get(lst.port, [])
        if lst.secure and ssl_policy:
            want = [ssl_policy]
        else:
            # unset: drop only our negotiation policy, keep whatever AWS or the user put there
            want = [p for p in have if not p.startswith(SSL_POLICY_PREFIX)]
        if want != have:
            ops.append(call(CLB, name, "elb", "set_load_balancer_policies_of_listener",
                            {"LoadBalancerName": name, "LoadBalancerPort": lst.port, "PolicyNames": want},
                            summary=f"listener {lst.port} policies {want}"))
    have_backend = {int(b["InstancePort"]): list(b.get("PolicyNames", ()))
                    for b in lb.get("BackendServerDescriptions", ())}
    instance_ports = sorted({lst.instance_port for lst in desired.listeners})
    for port in sorted(set(instance_ports) | set(have_backend)):
        have = have_backend.get(port, [])
        want = [PROXY_POLICY] if desired.proxy_protocol and port in instance_ports else \
            [p for p in have if p != PROXY_POLICY]
        if want != have:
            ops.append(call(CLB, name, "elb", "set_load_balancer_policies_for_backend_server",
                            {"LoadBalancerName": name, "InstancePort": port, "PolicyNames": want},
                            summary=f"backend port {port} policies {want}"))
    return ops


def delete_clb(existing: Existing) -> AwsCall:
    return call(CLB, existing.name, "elb", "delete_load_balancer", {"LoadBalancerName": existing.name})


def plan_clb_delete(name: str, observed: ClbObserved) -> tuple[AwsCall, ...]:
    """The load balancer, then its group (node rules first: ``ClbNodeRules`` with ``revoke_source``)."""
    ops: list[AwsCall] = []
    if observed.existing is not None:
        ops.append(delete_clb(observed.existing))
    if observed.sg_id is not None:
        ops.append(call(SECURITY_GROUP, observed.sg_id, "ec2", "delete_security_group", {"GroupId": observed.sg_id},
                        ignore=("InvalidGroup.NotFound",)))
    return tuple(ops)


class ClassicElb(LoadBalancerKind[ClbDesired, ClbObserved]):
    kind = CLB_TYPE
    label = "Classic ELB"
    # the steps are this module's functions: desired and plans are pure, observe only reads
    desired = staticmethod(desired_clb)
    observe = staticmethod(observe_clb)
    plan = staticmethod(plan_clb)
    plan_delete = staticmethod(plan_clb_delete)
    delete_call = staticmethod(delete_clb)

    def describe(self, clients: Clients, name: str) -> tuple[Mapping[str, Any], dict[str, str]] | None:
        lb = first_or_none(lambda: clients.elb.describe_load_balancers(LoadBalancerNames=[name])[
            "LoadBalancerDescriptions"], ("LoadBalancerNotFound", "AccessPointNotFound"))
        if lb is None:
            return None
        return lb, first_tags(clients.elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"])

    def nothing(self, owner: Owner, name: str) -> ClbObserved:
        return ClbObserved()

    def node_rules_delete(self, name: str, observed: ClbObserved) -> NodeRules:
        return ClbNodeRules(name, None, revoke_source=observed.sg_id)

    def referenced_groups(self, observed: ClbObserved) -> tuple[str, ...]:
        return (observed.sg_id,) if observed.sg_id is not None else ()

    def port_status(self, request: LoadBalancerRequest) -> tuple[PortStatus, ...]:
        return port_statuses(request.ports, ("TCP",))
