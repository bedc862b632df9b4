"""discovery.k8s.io/v1 EndpointSlices: ValidateEndpointSlice, generation tracking."""

from __future__ import annotations

import ipaddress
from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy, meta
from ccm.apiserver.validation import (
    endpoint_ip_errors,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_num,
    parse_ip,
)

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 20000


class EndpointSliceStrategy(Strategy):
    group = "discovery.k8s.io"
    plural = "endpointslices"
    singular = "endpointslice"
    kind = "EndpointSlice"
    model = "V1EndpointSlice"
    tracks_generation = True

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Upstream bumps generation for any non-metadata change and for label changes."""
        keys = (set(new) | set(old)) - {"metadata", "kind", "apiVersion"}
        return any(new.get(k) != old.get(k) for k in keys) or \
            (new.get("metadata") or {}).get("labels") != (old.get("metadata") or {}).get("labels")

    def default(self, obj: Obj) -> None:
        """SetDefaults_EndpointPort, plus the fields Go always writes (no omitempty)."""
        obj.setdefault("endpoints", None)
        obj.setdefault("ports", None)
        for port in obj.get("ports") or []:
            if isinstance(port, dict):
                if port.get("name") is None:
                    port["name"] = ""
                if port.get("protocol") is None:
                    port["protocol"] = "TCP"
        for ep in obj.get("endpoints") or []:
            if isinstance(ep, dict) and ep.get("conditions") is None:
                ep["conditions"] = {}

    def prepare_for_create(self, obj: Obj) -> None:
        meta(obj)["generation"] = 1

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        pass

    def validate(self, obj: Obj) -> list[FieldError]:
        return self._validate_address_type(obj) + self._validate_endpoints(obj) + _validate_ports(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = self.validate(new)
        if new.get("addressType") != old.get("addressType"):
            errs.append(fe.invalid("addressType", new.get("addressType"), "field is immutable"))
        return errs

    @staticmethod
    def _validate_address_type(obj: Obj) -> list[FieldError]:
        t = obj.get("addressType") or ""
        if not t:
            return [fe.required("addressType")]
        if t not in ADDRESS_TYPES:
            return [fe.not_supported("addressType", t, ADDRESS_TYPES)]
        return []

    def _validate_endpoints(self, obj: Obj) -> list[FieldError]:
        endpoints = obj.get("endpoints")
        if endpoints is None:
            return []
        if not isinstance(endpoints, list):
            return [fe.invalid("endpoints", endpoints, "must be a list")]
        errs: list[FieldError] = []
        if len(endpoints) > MAX_ENDPOINTS:
            errs.append(fe.FieldError("Too many", "endpoints", len(endpoints), f"must have at most {MAX_ENDPOINTS} items"))
        t = obj.get("addressType")
        for i, ep in enumerate(endpoints):
            p = f"endpoints[{i}]"
            if not isinstance(ep, dict):
                errs.append(fe.invalid(p, ep, "must be an object"))
                continue
            addrs = ep.get("addresses") or []
            if not addrs:
                errs.append(fe.required(f"{p}.addresses", "must contain at least 1 address"))
            elif len(addrs) > MAX_ADDRESSES:
                errs.append(fe.FieldError("Too many", f"{p}.addresses", len(addrs),
                                          f"must have at most {MAX_ADDRESSES} items"))
            for j, a in enumerate(addrs):
                errs += self._validate_address(t, a, f"{p}.addresses[{j}]")
            hostname = ep.get("hostname")
            if hostname:
                errs += [fe.invalid(f"{p}.hostname", hostname, m) for m in is_dns1123_label(hostname)]
            node = ep.get("nodeName")
            if node:
                errs += [fe.invalid(f"{p}.nodeName", node, m) for m in is_dns1123_subdomain(node)]
            for cond in ("ready", "serving", "terminating"):
                v = (ep.get("conditions") or {}).get(cond)
                if v is not None and not isinstance(v, bool):
                    errs.append(fe.invalid(f"{p}.conditions.{cond}", v, "must be a boolean"))
        return errs

    def _validate_address(self, address_type: Any, address: Any, path: str) -> list[FieldError]:
        if address_type not in ADDRESS_TYPES:
            return []  # reported once, on addressType
        if address_type == "FQDN":
            return _fqdn_errors(str(address), path)
        ip = parse_ip(address)
        want = 4 if address_type == "IPv4" else 6
        errs = [] if ip is not None and ip.version == want else \
            [fe.invalid(path, address, f"must be a valid IPv{want} address")]
        if ip is None:  # ValidateEndpointIP runs as well, as upstream
            return [*errs, fe.invalid(path, address, "must be a valid IP address")]
        return errs + self._validate_endpoint_ip(ip, str(address), path)

    def _validate_endpoint_ip(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, address: str,
                              path: str) -> list[FieldError]:
        # kube-apiserver rejects loopback endpoints. The one-machine demo runs its backends on
        # loopback, so the server option allow_loopback_endpoints (--allow-loopback-endpoints,
        # off by default) lifts exactly this check and nothing else.
        allow_loopback = self.options.allow_loopback_endpoints
        return [fe.invalid(path, address, m) for m in endpoint_ip_errors(ip, address, allow_loopback)]


def _fqdn_errors(address: str, path: str) -> list[FieldError]:
    """IsFullyQualifiedDomainName: a DNS subdomain with at least two labels (a trailing dot is fine)."""
    name = address[:-1] if address.endswith(".") else address
    if not name:
        return [fe.required(path)]
    errs = [fe.invalid(path, address, m) for m in is_dns1123_subdomain(name)]
    if "." not in name:
        errs.append(fe.invalid(path, address, "should be a domain with at least two segments separated by dots"))
    return errs


def _validate_ports(obj: Obj) -> list[FieldError]:
    ports = obj.get("ports")
    if ports is None:
        return []
    if not isinstance(ports, list):
        return [fe.invalid("ports", ports, "must be a list")]
    errs: list[FieldError] = []
    if len(ports) > MAX_PORTS:
        errs.append(fe.FieldError("Too many", "ports", len(ports), f"must have at most {MAX_PORTS} items"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"ports[{i}]"
        if not isinstance(port, dict):
            errs.append(fe.invalid(p, port, "must be an object"))
            continue
        name = port.get("name") or ""
        if name:
            errs += [fe.invalid(f"{p}.name", name, m) for m in is_dns1123_label(name)]
        if name in names:
            errs.append(fe.duplicate(f"{p}.name", name))
        names.add(name)
        proto = port.get("protocol")
        if not proto:
            errs.append(fe.required(f"{p}.protocol"))
        elif proto not in PROTOCOLS:
            errs.append(fe.not_supported(f"{p}.protocol", proto, PROTOCOLS))
        if port.get("port") is not None and not is_valid_port_num(port.get("port")):
            errs.append(fe.invalid(f"{p}.port", port.get("port"), "must be between 1 and 65535, inclusive"))
        app = port.get("appProtocol")
        if app:
            errs += [fe.invalid(f"{p}.appProtocol", app, m) for m in is_qualified_name(app)]
    return errs
