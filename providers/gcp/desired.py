"""The desired load balancer, from the request alone (pure).

Ports are grouped by protocol into one forwarding rule each (TCP ``<lb>``, UDP ``<lb>-udp``),
with discrete ``ports`` up to 5 and ``allPorts`` beyond; the traffic firewall always lists
exactly the Service's ports, so ``allPorts`` never exposes more than asked. SCTP is not served
by these load balancers: such ports get ``PortStatus.error`` and the rest is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers.adapter.ownership import Owner
from providers.adapter.portstatus import port_statuses
from providers.gcp import links
from providers.gcp.config import GceConfig
from providers.gcp.kinds import Scheme
from providers.gcp.names import (
    HEALTH_CHECK_RANGES,
    NODE_HEALTH_PATH,
    NODE_HEALTH_PORT,
    cluster_description,
    firewall_name,
    forwarding_rule_name,
    node_health_check_name,
    service_description,
)
from providers.gcp.settings import Settings
from providers.port import LoadBalancerRequest, PortStatus, UserError

MAX_DISCRETE_PORTS = 5
PROTOCOLS = ("TCP", "UDP")
#: upstream's health-check timings: 8 s interval, 1 s timeout, healthy after 1, unhealthy after 3
HEALTH_TIMINGS = {"checkIntervalSec": 8, "timeoutSec": 1, "healthyThreshold": 1, "unhealthyThreshold": 3}


@dataclasses.dataclass(frozen=True)
class Desired:
    kind: Scheme
    lb: str
    owner: Owner
    #: forwarding rule name -> body (without IPAddress, chosen when planning)
    rules: Mapping[str, Mapping[str, Any]]
    backend: Mapping[str, Any]
    #: the health check this Service's backend service uses, and whether it is the shared one
    health_check: Mapping[str, Any]
    shared_health_check: bool
    #: firewall name -> body; the traffic firewall's ``destinationRanges`` is filled with the IP later
    firewalls: Mapping[str, Mapping[str, Any]]
    requested_ip: str | None
    zones: tuple[str, ...]
    port_status: tuple[PortStatus, ...]
    settings: Settings

    @property
    def traffic_firewall(self) -> str:
        return firewall_name(self.lb)


def port_status(request: LoadBalancerRequest) -> tuple[PortStatus, ...]:
    return port_statuses(request.ports, PROTOCOLS)


def ports_by_protocol(request: LoadBalancerRequest) -> dict[str, list[int]]:
    out: dict[str, set[int]] = {}
    for p in request.ports:
        if p.protocol in PROTOCOLS:
            out.setdefault(p.protocol, set()).add(p.port)
    return {proto: sorted(ports) for proto, ports in sorted(out.items())}


def desired(request: LoadBalancerRequest, settings: Settings, config: GceConfig, *, kind: Scheme, lb: str,
            zones: tuple[str, ...], tags: tuple[str, ...], group_path: Any) -> Desired:
    """``group_path(zone)`` is the shared instance group's path in a zone."""
    owner = Owner(request.cluster_name, request.key)
    by_proto = ports_by_protocol(request)
    if not by_proto:
        raise UserError(f"{request.key}: no TCP or UDP port; Compute Engine passthrough load balancers serve "
                        "only TCP and UDP", reason="UnsupportedProtocol")
    project, region = config.project, config.region
    description = service_description(owner)
    local = request.external_traffic_policy == "Local" and request.health_check is not None
    if local:
        assert request.health_check is not None
        hc_name, hc_port, hc_path = lb, request.health_check.port, request.health_check.path or "/healthz"
        hc_description = description
    else:
        hc_name, hc_port, hc_path = node_health_check_name(request.cluster_name), NODE_HEALTH_PORT, NODE_HEALTH_PATH
        hc_description = cluster_description(request.cluster_name)
    health_check = {"name": hc_name, "type": "HTTP", "description": hc_description,
                    "httpHealthCheck": {"port": hc_port, "requestPath": hc_path}, **HEALTH_TIMINGS}
    backend_path = links.regional(project, region, "backendServices", lb)
    backend = {
        "name": lb, "description": description, "loadBalancingScheme": kind.scheme,
        "protocol": next(iter(by_proto)) if len(by_proto) == 1 else "UNSPECIFIED",
        "sessionAffinity": "CLIENT_IP" if request.session_affinity == "ClientIP" else "NONE",
        "healthChecks": [links.regional(project, region, "healthChecks", hc_name)],
        "backends": [{"group": group_path(z), "balancingMode": "CONNECTION"} for z in zones],
        **kind.backend_fields(config),
    }
    rules: dict[str, dict[str, Any]] = {}
    for proto, ports in by_proto.items():
        name = forwarding_rule_name(lb, proto)
        body: dict[str, Any] = {"name": name, "description": description, "loadBalancingScheme": kind.scheme,
                                "IPProtocol": proto, "backendService": backend_path,
                                **kind.rule_fields(settings, config)}
        if len(ports) > MAX_DISCRETE_PORTS:
            body["allPorts"] = True
        else:
            body["ports"] = [str(p) for p in ports]
        rules[name] = body
    network = links.global_(project, "networks", config.network)
    traffic: dict[str, Any] = {
        "name": firewall_name(lb), "network": network, "direction": "INGRESS", "priority": 1000,
        "allowed": [{"IPProtocol": proto.lower(), "ports": [str(p) for p in ports]} for proto, ports in by_proto.items()],
        "sourceRanges": sorted(request.source_ranges), "description": description,
    }
    hc_firewall: dict[str, Any] = {
        "name": kind.health_check_firewall(lb, request.cluster_name, local=local), "network": network,
        "direction": "INGRESS", "priority": 1000, "allowed": [{"IPProtocol": "tcp", "ports": [str(hc_port)]}],
        "sourceRanges": sorted(HEALTH_CHECK_RANGES), "description": hc_description,
    }
    if tags:
        traffic["targetTags"] = list(tags)
        hc_firewall["targetTags"] = list(tags)
    return Desired(
        kind=kind, lb=lb, owner=owner, rules=rules, backend=backend, health_check=health_check,
        shared_health_check=not local, firewalls={traffic["name"]: traffic, hc_firewall["name"]: hc_firewall},
        requested_ip=request.requested_ip or None, zones=zones, port_status=port_status(request), settings=settings,
    )
