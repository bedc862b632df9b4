"""core/v1 Services: defaulting, ClusterIP/NodePort allocation, validation, status rules.

Follows pkg/registry/core/service (strategy.go, storage/alloc.go) and ValidateService in
pkg/apis/core/validation. Allocation runs before validation, as in kube-apiserver's
BeginCreate/BeginUpdate hooks, and is undone when the request fails or is a dry run.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from ccm.apiserver import errors, timefmt
from ccm.apiserver import fielderrors as fe
from ccm.apiserver.allocators import AllocationError, IPAllocator, PortAllocator, Transaction
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Options, Strategy, dig, spec, str_field
from ccm.apiserver.validation import (
    CIDR_MSG,
    IP_MSG,
    endpoint_ip_errors,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
    parse_cidr,
    parse_ip,
    validate_labels,
)

TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
_PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"


def _type(obj: Obj) -> str:
    return str_field(obj, "spec", "type") or "ClusterIP"


def needs_cluster_ip(obj: Obj) -> bool:
    return _type(obj) != "ExternalName"


def needs_node_port(obj: Obj) -> bool:
    return _type(obj) in ("NodePort", "LoadBalancer")


def should_allocate_node_ports(obj: Obj) -> bool:
    if _type(obj) == "NodePort":
        return True
    return _type(obj) == "LoadBalancer" and dig(obj, "spec", "allocateLoadBalancerNodePorts") is not False


def needs_hc_node_port(obj: Obj) -> bool:
    return _type(obj) == "LoadBalancer" and dig(obj, "spec", "externalTrafficPolicy") == "Local"


def externally_accessible(obj: Obj) -> bool:
    return _type(obj) in ("LoadBalancer", "NodePort") or (
        _type(obj) == "ClusterIP" and bool(dig(obj, "spec", "externalIPs")))


def _ports(obj: Obj) -> list[dict[str, Any]]:
    ports = dig(obj, "spec", "ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _node_ports(obj: Obj) -> set[int]:
    return {p["nodePort"] for p in _ports(obj) if isinstance(p.get("nodePort"), int) and p["nodePort"]}


def _duplicate_port_key(p: dict[str, Any]) -> dict[str, Any]:
    """The internal ``core.ServicePort`` key upstream reports (untagged Go fields, in Go order)."""
    return {"Name": "", "Protocol": p.get("protocol", ""), "AppProtocol": None, "Port": p.get("port", 0),
            "TargetPort": 0, "NodePort": 0}


class ServiceStrategy(Strategy):
    plural = "services"
    singular = "service"
    kind = "Service"
    model = "V1Service"
    short_names = ("svc",)
    categories = ("all",)
    has_status = True
    allow_create_on_update = True
    return_deleted_object = True
    name_rule = "dns1035"
    field_labels = ("spec.clusterIP", "spec.type")
    schema = {
        "spec.ports": ("merge", "port"),
        "status.conditions": ("merge", "type"),
    }

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.ips = IPAllocator(options.service_cidr)
        self.node_ports = PortAllocator(*options.node_port_range)

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        return {"spec.clusterIP": str_field(obj, "spec", "clusterIP"), "spec.type": str_field(obj, "spec", "type")}

    # ------------------------------------------------------------------ defaulting

    def default(self, obj: Obj) -> None:
        """SetDefaults_Service (pkg/apis/core/v1/defaults.go)."""
        s = spec(obj)
        if not s.get("type"):
            s["type"] = "ClusterIP"
        if not s.get("sessionAffinity"):
            s["sessionAffinity"] = "None"
        if s["sessionAffinity"] == "ClientIP" and dig(s, "sessionAffinityConfig", "clientIP",
                                                      "timeoutSeconds") is None:
            s["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
        for p in _ports(obj):
            if not p.get("protocol"):
                p["protocol"] = "TCP"
            if p.get("targetPort") in (None, 0, ""):
                p["targetPort"] = p.get("port")
        if externally_accessible(obj) and not s.get("externalTrafficPolicy"):
            s["externalTrafficPolicy"] = "Cluster"
        if not s.get("internalTrafficPolicy") and s["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
            s["internalTrafficPolicy"] = "Cluster"
        if s["type"] == "LoadBalancer" and s.get("allocateLoadBalancerNodePorts") is None:
            s["allocateLoadBalancerNodePorts"] = True
        timefmt.normalize_conditions(dig(obj, "status", "conditions"), "lastTransitionTime")
        for ing in dig(obj, "status", "loadBalancer", "ingress") or []:
            if isinstance(ing, dict) and ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        # a shallow copy is enough: only top-level status keys are ever replaced below
        new["status"] = dict(old.get("status") or {"loadBalancer": {}})
        self._drop_type_dependent_fields(new, old)

    @staticmethod
    def _drop_type_dependent_fields(new: Obj, old: Obj) -> None:
        """Clear fields the new type no longer uses when the user left them as they were."""
        ns, os_ = spec(new), old.get("spec") or {}
        if needs_cluster_ip(old) and not needs_cluster_ip(new):
            if ns.get("clusterIP") == os_.get("clusterIP") and ns.get("clusterIPs") == os_.get("clusterIPs"):
                ns.pop("clusterIP", None)
                ns.pop("clusterIPs", None)
            if ns.get("ipFamilies") == os_.get("ipFamilies"):
                ns.pop("ipFamilies", None)
            if ns.get("ipFamilyPolicy") == os_.get("ipFamilyPolicy"):
                ns.pop("ipFamilyPolicy", None)
        if needs_node_port(old) and not needs_node_port(new) and _node_ports(new) <= _node_ports(old):
            for p in _ports(new):
                p.pop("nodePort", None)
        if needs_hc_node_port(old) and not needs_hc_node_port(new) and \
                ns.get("healthCheckNodePort") == os_.get("healthCheckNodePort"):
            ns.pop("healthCheckNodePort", None)
        if _type(old) == "LoadBalancer" and _type(new) != "LoadBalancer" and \
                ns.get("allocateLoadBalancerNodePorts") is not None and \
                ns.get("allocateLoadBalancerNodePorts") == os_.get("allocateLoadBalancerNodePorts"):
            ns.pop("allocateLoadBalancerNodePorts", None)
        if _type(old) == "LoadBalancer" and _type(new) != "LoadBalancer" and \
                ns.get("loadBalancerClass") == os_.get("loadBalancerClass"):
            ns.pop("loadBalancerClass", None)
        if externally_accessible(old) and not externally_accessible(new) and \
                ns.get("externalTrafficPolicy") == os_.get("externalTrafficPolicy"):
            ns.pop("externalTrafficPolicy", None)
        if _type(new) != "LoadBalancer":
            new.setdefault("status", {})["loadBalancer"] = {}

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        # shared with the stored version on purpose: nothing mutates spec after this point
        new["spec"] = old.get("spec") or {}

    # ------------------------------------------------------------------ allocation

    def _invalid(self, obj: Obj, errs: list[FieldError]) -> errors.APIError:
        return errors.invalid("Service", str_field(obj, "metadata", "name"), errs)

    def _init_ip_families(self, obj: Obj) -> None:
        """initIPFamilyFields for a single-stack cluster: only the service CIDR's family exists."""
        s = spec(obj)
        family = self.ips.family
        headless_no_selector = s.get("clusterIP") == "None" and not s.get("selector")
        if headless_no_selector:
            s.setdefault("ipFamilyPolicy", "RequireDualStack")
            s["ipFamilies"] = [f for f in s.get("ipFamilies") or [family] if f == family] or [family]
            return
        errs = [fe.invalid(f"spec.ipFamilies[{i}]", f, "not configured on this cluster")
                for i, f in enumerate(s.get("ipFamilies") or []) if f != family and f in ("IPv4", "IPv6")]
        if s.get("ipFamilyPolicy") == "RequireDualStack":
            errs.append(fe.invalid("spec.ipFamilyPolicy", "RequireDualStack",
                                   "this cluster is not configured for dual-stack services"))
        if errs:
            raise self._invalid(obj, errs)
        if not s.get("ipFamilyPolicy"):
            s["ipFamilyPolicy"] = "SingleStack"
        if not s.get("ipFamilies"):
            s["ipFamilies"] = [family]

    def _alloc_cluster_ip(self, obj: Obj, txn: Transaction) -> None:
        s = spec(obj)
        ip, ips = s.get("clusterIP") or "", s.get("clusterIPs") or []
        if not ip and ips and isinstance(ips[0], str):
            ip = s["clusterIP"] = ips[0]
        if ip and not ips:
            ips = s["clusterIPs"] = [ip]
        self._init_ip_families(obj)
        if ip == "None":
            return
        if not ip:
            try:
                ip = self.ips.allocate_next()
            except AllocationError as exc:
                raise errors.APIError(500, f"Internal error occurred: failed to allocate a serviceIP: {exc}",
                                      "InternalError") from None
            txn.took(functools.partial(self.ips.release, ip))
            s["clusterIP"], s["clusterIPs"] = ip, [ip]
            return
        if parse_ip(ip) is None:
            return  # validation reports it
        try:
            self.ips.allocate(ip)
        except AllocationError as exc:
            raise self._invalid(obj, [fe.invalid("spec.clusterIPs", list(ips),
                                                 f"failed to allocate IP {ip}: {exc}")]) from None
        txn.took(lambda: self.ips.release(ip))

    def _alloc_node_ports(self, obj: Obj, txn: Transaction, keep: set[int]) -> None:
        """initNodePorts/updateNodePorts: ``keep`` are ports this Service already holds."""
        ports = _ports(obj)
        by_port: dict[int, int] = {}
        taken: set[int] = set()

        def take(i: int, np: int) -> None:
            if np in keep or np in taken:
                taken.add(np)
                return
            try:
                self.node_ports.allocate(np)
            except AllocationError as exc:
                raise self._invalid(obj, [fe.invalid(f"spec.ports[{i}].nodePort", np, str(exc))]) from None
            taken.add(np)
            txn.took(lambda: self.node_ports.release(np))

        for i, p in enumerate(ports):
            np = p.get("nodePort") or 0
            if not isinstance(np, int):
                continue
            if not np and not should_allocate_node_ports(obj):
                continue
            number = p.get("port")
            have = by_port.get(number) if isinstance(number, int) else None
            if not have:
                requested = next((q.get("nodePort") for q in ports[i:] if q.get("port") == number
                                  and isinstance(q.get("nodePort"), int) and q.get("nodePort")), 0)
                if requested:
                    take(i, requested)
                    p["nodePort"] = requested
                else:
                    try:
                        requested = self.node_ports.allocate_next()
                    except AllocationError as exc:
                        raise errors.APIError(500, f"Internal error occurred: failed to allocate a nodePort: "
                                                   f"{exc}", "InternalError") from None
                    txn.took(functools.partial(self.node_ports.release, requested))
                    taken.add(requested)
                    p["nodePort"] = requested
                if isinstance(number, int):
                    by_port[number] = requested
            elif np != have:
                if not np:
                    p["nodePort"] = have
                else:
                    take(i, np)

    def _alloc_hc_node_port(self, obj: Obj, txn: Transaction, old_port: int = 0) -> None:
        s = spec(obj)
        hc = s.get("healthCheckNodePort") or 0
        if not isinstance(hc, int):
            return
        if hc and hc == old_port:
            return
        if not hc:
            try:
                hc = self.node_ports.allocate_next()
            except AllocationError as exc:
                raise errors.APIError(500, f"Internal error occurred: failed to allocate a nodePort: {exc}",
                                      "InternalError") from None
            s["healthCheckNodePort"] = hc
        else:
            try:
                self.node_ports.allocate(hc)
            except AllocationError as exc:
                raise self._invalid(obj, [fe.invalid("spec.healthCheckNodePort", hc,
                                                     f"failed to allocate requested HealthCheck NodePort "
                                                     f"{hc}: {exc}")]) from None
        txn.took(lambda: self.node_ports.release(hc))

    def begin_create(self, obj: Obj, txn: Transaction) -> None:
        if needs_cluster_ip(obj):
            self._alloc_cluster_ip(obj, txn)
        self._alloc_node_ports(obj, txn, set())
        if needs_hc_node_port(obj):
            self._alloc_hc_node_port(obj, txn)

    def begin_update(self, new: Obj, old: Obj, txn: Transaction) -> None:
        ns, os_ = spec(new), old.get("spec") or {}
        # patchAllocatedValues: a PUT that omits allocated values keeps them
        if needs_cluster_ip(old) and needs_cluster_ip(new):
            if not ns.get("clusterIP"):
                ns["clusterIP"] = os_.get("clusterIP")
            if not ns.get("clusterIPs") or ns.get("clusterIPs") == [""]:
                ns["clusterIPs"] = copy.deepcopy(os_.get("clusterIPs"))
            for f in ("ipFamilies", "ipFamilyPolicy"):
                if not ns.get(f) and os_.get(f):
                    ns[f] = copy.deepcopy(os_[f])
        if needs_node_port(old) and needs_node_port(new):
            used = _node_ports(old) & _node_ports(new)
            by_name = {p.get("name", ""): p.get("nodePort") for p in _ports(old)}
            for p in _ports(new):
                if not p.get("nodePort"):
                    prev = by_name.get(p.get("name", ""))
                    if prev and prev not in used:
                        p["nodePort"] = prev
        if needs_hc_node_port(old) and needs_hc_node_port(new) and not ns.get("healthCheckNodePort"):
            ns["healthCheckNodePort"] = os_.get("healthCheckNodePort")
        # allocate what is new, release on commit what is no longer held
        old_ip = os_.get("clusterIP") if needs_cluster_ip(old) else None
        if needs_cluster_ip(new) and not needs_cluster_ip(old):
            self._alloc_cluster_ip(new, txn)
        elif old_ip and old_ip != "None" and not needs_cluster_ip(new):
            txn.release_on_commit(lambda: self.ips.release(old_ip))
        old_ports = _node_ports(old)
        self._alloc_node_ports(new, txn, old_ports)
        for gone in old_ports - _node_ports(new):
            txn.release_on_commit(functools.partial(self.node_ports.release, gone))
        old_hc = os_.get("healthCheckNodePort") or 0
        if needs_hc_node_port(new):
            self._alloc_hc_node_port(new, txn, old_hc if needs_hc_node_port(old) else 0)
        new_hc = ns.get("healthCheckNodePort") or 0
        if old_hc and old_hc != new_hc and old_hc not in _node_ports(new):
            txn.release_on_commit(lambda: self.node_ports.release(old_hc))

    def after_delete(self, obj: Obj) -> None:
        s = obj.get("spec") or {}
        ip = s.get("clusterIP")
        if ip and ip != "None":
            self.ips.release(ip)
        for np in _node_ports(obj):
            self.node_ports.release(np)
        if isinstance(s.get("healthCheckNodePort"), int) and s["healthCheckNodePort"]:
            self.node_ports.release(s["healthCheckNodePort"])

    # ------------------------------------------------------------------ validation

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = validate_service(new, old)
        ns, os_ = new.get("spec") or {}, old.get("spec") or {}
        if needs_cluster_ip(old) and needs_cluster_ip(new) and os_.get("clusterIPs") and \
                ns.get("clusterIPs") != os_.get("clusterIPs"):
            errs.append(fe.invalid("spec.clusterIPs[0]", ns.get("clusterIPs"), "may not change once set"))
        if needs_hc_node_port(old) and needs_hc_node_port(new) and \
                ns.get("healthCheckNodePort") != os_.get("healthCheckNodePort"):
            errs.append(fe.forbidden("spec.healthCheckNodePort", "field is immutable"))
        if _type(old) == "LoadBalancer" and _type(new) == "LoadBalancer" and \
                ns.get("loadBalancerClass") != os_.get("loadBalancerClass"):
            errs.append(fe.invalid("spec.loadBalancerClass", ns.get("loadBalancerClass"), "may not change once set"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_load_balancer_status(new, old)


def _validate_port(p: dict[str, Any], i: int, require_name: bool, names: set[str],
                   svc_type: str) -> list[FieldError]:
    path = f"spec.ports[{i}]"
    errs: list[FieldError] = []
    name = p.get("name") or ""
    if require_name and not name:
        errs.append(fe.required(f"{path}.name"))
    elif name:
        errs += [fe.invalid(f"{path}.name", name, m) for m in is_dns1123_label(name)]
        if name in names:
            errs.append(fe.duplicate(f"{path}.name", name))
        names.add(name)
    if not is_valid_port_num(p.get("port")):
        errs.append(fe.invalid(f"{path}.port", p.get("port"), _PORT_RANGE_MSG))
    proto = p.get("protocol") or ""
    if not proto:
        errs.append(fe.required(f"{path}.protocol"))
    elif proto not in PROTOCOLS:
        errs.append(fe.not_supported(f"{path}.protocol", proto, PROTOCOLS))
    tp = p.get("targetPort")
    if isinstance(tp, str):
        errs += [fe.invalid(f"{path}.targetPort", tp, m) for m in is_valid_port_name(tp)]
    elif not is_valid_port_num(tp):
        errs.append(fe.invalid(f"{path}.targetPort", tp, _PORT_RANGE_MSG))
    app = p.get("appProtocol")
    if app:
        errs += [fe.invalid(f"{path}.appProtocol", app, m) for m in is_qualified_name(app)]
    np = p.get("nodePort")
    if np:
        if svc_type == "ClusterIP":
            errs.append(fe.forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'"))
        elif not is_valid_port_num(np):
            errs.append(fe.invalid(f"{path}.nodePort", np, _PORT_RANGE_MSG))
    return errs


def validate_service(obj: Obj, old: Obj | None = None) -> list[FieldError]:
    """ValidateService: the rules kube-apiserver applies to a Service spec."""
    s = obj.get("spec") or {}
    errs: list[FieldError] = []
    t = s.get("type") or ""
    if t not in TYPES:
        errs.append(fe.not_supported("spec.type", t, TYPES))
    ips = s.get("clusterIPs") or []
    headless = s.get("clusterIP") == "None"
    ports = s.get("ports") or []
    if not isinstance(ports, list):
        return [*errs, fe.invalid("spec.ports", ports, "must be a list")]
    if not ports and t != "ExternalName" and not headless:
        errs.append(fe.required("spec.ports"))
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    seen_np: set[tuple[Any, Any]] = set()
    for i, p in enumerate(ports):
        if not isinstance(p, dict):
            errs.append(fe.invalid(f"spec.ports[{i}]", p, "must be an object"))
            continue
        errs += _validate_port(p, i, len(ports) > 1, names, t)
        key = (p.get("port"), p.get("protocol"))
        if key in seen:
            errs.append(fe.duplicate(f"spec.ports[{i}]", _duplicate_port_key(p)))
        seen.add(key)
        if p.get("nodePort"):
            npk = (p.get("nodePort"), p.get("protocol"))
            if npk in seen_np:
                errs.append(fe.duplicate(f"spec.ports[{i}].nodePort", p.get("nodePort")))
            seen_np.add(npk)
    # cluster IPs
    if t == "ExternalName":
        for f in ("clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if s.get(f):
                errs.append(fe.forbidden(f"spec.{f}", "may not be set for ExternalName services"))
        en = s.get("externalName") or ""
        if not en:
            errs.append(fe.required("spec.externalName"))
        else:
            errs += [fe.invalid("spec.externalName", en, m) for m in is_dns1123_subdomain(en.rstrip("."))]
    else:
        if s.get("clusterIP"):
            if not ips:
                errs.append(fe.required("spec.clusterIPs"))
            elif s.get("clusterIP") != ips[0]:
                errs.append(fe.invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
        elif ips:
            errs.append(fe.invalid("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified"))
        old_ips = dig(old, "spec", "clusterIPs") or [] if old else []
        for i, ip in enumerate(ips):
            if i == 0 and ip == "None":
                if len(ips) > 1:
                    errs.append(fe.invalid("spec.clusterIPs", ips, "'None' must be the first and only value"))
                continue
            if ip not in old_ips and parse_ip(ip) is None:
                errs.append(fe.invalid(f"spec.clusterIPs[{i}]", ip, IP_MSG))
        if headless and t in ("NodePort", "LoadBalancer"):
            errs.append(fe.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {t} services"))
        policy = s.get("ipFamilyPolicy")
        policies = ["PreferDualStack", "RequireDualStack", "SingleStack"]
        if policy and policy not in policies:
            errs.append(fe.not_supported("spec.ipFamilyPolicy", policy, policies))
        families = s.get("ipFamilies") or []
        for i, f in enumerate(families):
            if f not in ("IPv4", "IPv6"):
                errs.append(fe.not_supported(f"spec.ipFamilies[{i}]", f, ["IPv4", "IPv6"]))
        if policy == "SingleStack" and len(families) > 1:
            errs.append(fe.invalid("spec.ipFamilies", families,
                                   "when spec.ipFamilyPolicy is SingleStack, ipFamilies must have one entry"))
    # session affinity
    aff = s.get("sessionAffinity") or ""
    if aff not in ("ClientIP", "None"):
        errs.append(fe.not_supported("spec.sessionAffinity", aff, ["ClientIP", "None"]))
    elif aff == "ClientIP":
        timeout = dig(s, "sessionAffinityConfig", "clientIP", "timeoutSeconds")
        detail = "when session affinity type is ClientIP"
        if timeout is None:
            errs.append(fe.required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", detail))
        elif not isinstance(timeout, int) or not 0 < timeout <= 86400:
            errs.append(fe.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                                   "must be greater than 0 and less than 86400"))
    elif s.get("sessionAffinityConfig"):
        errs.append(fe.forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    old_external = dig(old, "spec", "externalIPs") or [] if old else []
    for i, ip in enumerate(s.get("externalIPs") or []):
        parsed = parse_ip(ip)
        if ip in old_external:
            continue
        if parsed is None:
            errs.append(fe.invalid(f"spec.externalIPs[{i}]", ip, IP_MSG))
        else:
            errs += [fe.invalid(f"spec.externalIPs[{i}]", ip, m) for m in endpoint_ip_errors(parsed, ip)]
    errs += validate_labels(s.get("selector"), "spec.selector")
    lb_ip = s.get("loadBalancerIP")
    if lb_ip and parse_ip(lb_ip) is None:
        errs.append(fe.invalid("spec.loadBalancerIP", lb_ip, "must be a valid IP address"))
    # load balancer source ranges (spec field and the legacy annotation)
    ranges = s.get("loadBalancerSourceRanges") or []
    annotation = (dig(obj, "metadata", "annotations") or {}).get(SOURCE_RANGES_ANNOTATION)
    if ranges:
        # upstream's field path really is capitalised here
        if t != "LoadBalancer":
            errs.append(fe.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"))
        old_ranges = [str(r).strip() for r in (dig(old, "spec", "loadBalancerSourceRanges") or [])] if old else []
        for i, r in enumerate(ranges):
            value = r.strip() if isinstance(r, str) else r
            if value not in old_ranges and parse_cidr(value) is None:
                errs.append(fe.invalid(f"spec.LoadBalancerSourceRanges[{i}]", value, CIDR_MSG))
    elif annotation is not None:
        path = f"metadata.annotations[{SOURCE_RANGES_ANNOTATION}]"
        if t != "LoadBalancer":
            errs.append(fe.forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
        old_value = (dig(old, "metadata", "annotations") or {}).get(SOURCE_RANGES_ANNOTATION) if old else None
        if annotation != old_value and annotation.strip():
            errs += [fe.invalid(path, r.strip(), CIDR_MSG) for r in annotation.strip().split(",")
                     if parse_cidr(r.strip()) is None]
    # traffic policies
    etp = s.get("externalTrafficPolicy") or ""
    if not externally_accessible(obj):
        if etp:
            errs.append(fe.invalid("spec.externalTrafficPolicy", etp,
                                   "may only be set for externally-accessible services"))
    elif not etp:
        errs.append(fe.required("spec.externalTrafficPolicy"))
    elif etp not in ("Cluster", "Local"):
        errs.append(fe.not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = s.get("internalTrafficPolicy")
    if t != "ExternalName":
        if not itp:
            errs.append(fe.required("spec.internalTrafficPolicy"))
        elif itp not in ("Cluster", "Local"):
            errs.append(fe.not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    hc = s.get("healthCheckNodePort") or 0
    if needs_hc_node_port(obj):
        if not hc:
            errs.append(fe.required("spec.healthCheckNodePort"))
        elif not is_valid_port_num(hc):
            errs.append(fe.invalid("spec.healthCheckNodePort", hc, _PORT_RANGE_MSG))
    elif hc:
        errs.append(fe.invalid("spec.healthCheckNodePort", hc,
                               "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                               "is 'Local'"))
    alloc = s.get("allocateLoadBalancerNodePorts")
    if t == "LoadBalancer" and alloc is None:
        errs.append(fe.required("allocateLoadBalancerNodePorts"))  # sic: upstream's path has no "spec."
    elif t != "LoadBalancer" and alloc is not None:
        errs.append(fe.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    td = s.get("trafficDistribution")
    if td is not None and td not in _TRAFFIC_DISTRIBUTION:
        errs.append(fe.not_supported("spec.trafficDistribution", td, _TRAFFIC_DISTRIBUTION))
    lbc = s.get("loadBalancerClass")
    if lbc is not None:
        if t != "LoadBalancer":
            errs.append(fe.forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"))
        else:
            errs += [fe.invalid("spec.loadBalancerClass", lbc, m) for m in is_qualified_name(str(lbc))]
    return errs


_IP_MODES = ["Proxy", "VIP"]
_TRAFFIC_DISTRIBUTION = ["PreferClose", "PreferSameZone", "PreferSameNode"]


def validate_load_balancer_status(obj: Obj, old: Obj | None = None) -> list[FieldError]:
    """ValidateLoadBalancerStatus: ingress entries only; an IP already stored stays valid."""
    errs: list[FieldError] = []
    ingress = dig(obj, "status", "loadBalancer", "ingress") or []
    path = "status.loadBalancer.ingress"
    if ingress and _type(obj) != "LoadBalancer":
        return [fe.forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'")]
    old_ips = [i.get("ip") for i in dig(old, "status", "loadBalancer", "ingress") or [] if isinstance(i, dict)]
    for i, ing in enumerate(ingress):
        p = f"{path}[{i}]"
        if not isinstance(ing, dict):
            errs.append(fe.invalid(p, ing, "must be an object"))
            continue
        ip, host, mode = ing.get("ip"), ing.get("hostname"), ing.get("ipMode")
        if ip and ip not in old_ips and parse_ip(ip) is None:
            errs.append(fe.invalid(f"{p}.ip", ip, IP_MSG))
        if not ip and mode is not None:
            errs.append(fe.forbidden(f"{p}.ipMode", "may not be specified when `ip` is not set"))
        elif ip and mode is None:
            errs.append(fe.required(f"{p}.ipMode", "must be specified when `ip` is set"))
        elif mode is not None and mode not in _IP_MODES:
            errs.append(fe.not_supported(f"{p}.ipMode", mode, _IP_MODES))
        if host:
            errs += [fe.invalid(f"{p}.hostname", host, m) for m in is_dns1123_subdomain(host)]
            if parse_ip(host) is not None:
                errs.append(fe.invalid(f"{p}.hostname", host, "must be a DNS name, not an IP address"))
    return errs
