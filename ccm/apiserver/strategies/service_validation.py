"""ValidateService and ValidateLoadBalancerStatus (pkg/apis/core/validation), as v1.36 applies them."""

from __future__ import annotations

from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, dig
from ccm.apiserver.strategies.service_types import (
    PROTOCOLS,
    SOURCE_RANGES_ANNOTATION,
    TYPES,
    externally_accessible,
    needs_hc_node_port,
    service_type,
)
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

_PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"


def _duplicate_port_key(p: dict[str, Any]) -> dict[str, Any]:
    """The internal ``core.ServicePort`` key upstream reports (untagged Go fields, in Go order)."""
    return {"Name": "", "Protocol": p.get("protocol", ""), "AppProtocol": None, "Port": p.get("port", 0),
            "TargetPort": 0, "NodePort": 0}


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
    if ingress and service_type(obj) != "LoadBalancer":
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
