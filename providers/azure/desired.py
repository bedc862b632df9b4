"""What one Service wants on Azure (pure): its frontend, rules and probes, its public IP, its NSG rules.

Upstream's shapes (``azure_loadbalancer.go``, ``getExpectedLBRules``):

* one frontend ``a<uid>`` on ``<cluster>`` (a public IP) or ``<cluster>-internal`` (a subnet, a
  dynamic or static private IP);
* per Service port and protocol a rule ``<frontend>-<Proto>-<port>``: frontend port = the port,
  backend port = the port with floating IP (the default) or the node port without it; TCP reset on
  (Standard SKU) unless disabled; idle timeout 4 minutes or the annotation; SourceIP distribution
  for ClientIP affinity; with HA ports (internal only) one rule ``<frontend>-HA-0`` instead;
* probes: ``externalTrafficPolicy: Local`` -> one HTTP probe on the health-check node port,
  ``/healthz``, shared by every rule; ``Cluster`` -> per port a probe named like its rule: the
  per-port protocol annotation, else ``appProtocol`` http/https, else the Service-wide annotation,
  else TCP, on the node port (or the per-port probe port); UDP ports get none unless asked;
* the public IP ``<cluster>-a<uid>``: Standard, Static, IPv4, tagged for the Service.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from providers.adapter.ownership import Owner, merge_tags
from providers.adapter.portstatus import UNSUPPORTED_PROTOCOL, port_statuses
from providers.azure.config import AzureConfig
from providers.azure.names import (
    CLUSTER_TAG,
    DNS_LABEL_SERVICE_TAG,
    SERVICE_TAG,
    child_id,
    frontend_name,
    ha_rule_name,
    load_balancer_name,
    network_id,
    pool_name,
    public_ip_name,
    rule_name,
)
from providers.azure.settings import Settings
from providers.port import LoadBalancerRequest, PortStatus, ProviderWarning, UserError

Body = dict[str, Any]
_PROTOCOLS = {"TCP": "Tcp", "UDP": "Udp"}
_PROBE_PROTOCOLS = {"tcp": "Tcp", "http": "Http", "https": "Https"}
INVALID_PROBE = "InvalidHealthProbeConfiguration"


@dataclasses.dataclass(frozen=True)
class ServiceParts:
    """A Service's children on one load balancer, as ARM JSON (names and properties)."""

    frontend: Body
    rules: tuple[Body, ...]
    probes: tuple[Body, ...]


@dataclasses.dataclass(frozen=True)
class PublicIpSpec:
    """The public IP this Service uses: ours to create (``managed``) or a user's (never changed)."""

    group: str
    name: str
    managed: bool
    body: Body = dataclasses.field(default_factory=dict)
    #: a user's public IP chosen by address rather than by name (found by listing)
    by_address: str | None = None

    @property
    def id_hint(self) -> str:
        return f"{self.group}/{self.name}"


@dataclasses.dataclass(frozen=True)
class Desired:
    """Everything the Service wants, before the cloud is read."""

    owner: Owner
    uid: str
    internal: bool
    lb_name: str
    lb_id: str
    frontend: str
    #: None for an internal Service
    public_ip: PublicIpSpec | None
    subnet_id: str | None
    #: the frontend's body minus the public IP id, which ``parts`` fills once known
    ports: tuple[PortStatus, ...]
    warnings: tuple[ProviderWarning, ...]
    rules: tuple[Body, ...]
    probes: tuple[Body, ...]
    private_ip: str | None

    def parts(self, public_ip_id: str | None) -> ServiceParts:
        if self.internal:
            fp: Body = {"subnet": {"id": self.subnet_id}}
            if self.private_ip:
                fp.update(privateIPAllocationMethod="Static", privateIPAddress=self.private_ip)
            else:
                fp["privateIPAllocationMethod"] = "Dynamic"
        else:
            fp = {"publicIPAddress": {"id": public_ip_id}}
        return ServiceParts({"name": self.frontend, "properties": fp}, self.rules, self.probes)


def lb_id_of(config: AzureConfig, internal: bool, cluster: str) -> str:
    return network_id(config.subscription_id, config.lb_resource_group, "loadBalancers",
                      load_balancer_name(cluster, internal))


def subnet_id_of(config: AzureConfig, subnet: str | None) -> str:
    vnet = network_id(config.subscription_id, config.vnet_group, "virtualNetworks", config.vnet_name)
    return child_id(vnet, "subnets", subnet or config.subnet_name)


def desired(request: LoadBalancerRequest, settings: Settings, config: AzureConfig) -> Desired:
    """The whole desired state (pure); raises UserError for what Azure cannot build."""
    owner = Owner(request.cluster_name, request.key)
    internal = settings.internal
    if internal and not (config.vnet_name and (settings.internal_subnet or config.subnet_name)):
        raise UserError("an internal load balancer needs vnetName and subnetName in the cloud config "
                        "(or the internal-subnet annotation)", reason="InvalidConfiguration")
    fe = frontend_name(request.uid, settings.internal_subnet if internal else None)
    lb_name = load_balancer_name(request.cluster_name, internal)
    lb_id = lb_id_of(config, internal, request.cluster_name)
    warnings: list[ProviderWarning] = []
    rules, probes, ports = _rules_and_probes(request, settings, lb_id=lb_id, fe=fe, cluster=request.cluster_name,
                                             internal=internal, warnings=warnings)
    public_ip = None if internal else _public_ip(request, settings, config, owner, warnings)
    private_ip = settings.requested_ip if internal else None
    return Desired(owner=owner, uid=request.uid, internal=internal, lb_name=lb_name, lb_id=lb_id, frontend=fe,
                   public_ip=public_ip, subnet_id=subnet_id_of(config, settings.internal_subnet) if internal else None,
                   ports=ports, warnings=tuple(warnings), rules=tuple(rules), probes=tuple(probes),
                   private_ip=private_ip)


def _public_ip(request: LoadBalancerRequest, settings: Settings, config: AzureConfig, owner: Owner,
               warnings: list[ProviderWarning]) -> PublicIpSpec:
    group = settings.pip_resource_group or config.resource_group
    if settings.pip_name or settings.requested_ip:
        if settings.dns_label is not None or settings.pip_tags or settings.pip_ip_tags:
            warnings.append(ProviderWarning("UserPublicIPUnchanged", (
                "the DNS label, pip-tags and pip-ip-tags annotations apply to public IPs ccm creates; "
                "the user's public IP is used as it is")))
        return PublicIpSpec(group=group, name=settings.pip_name or "", managed=False,
                            by_address=None if settings.pip_name else settings.requested_ip)
    tags = merge_tags(dict(settings.pip_tags), {SERVICE_TAG: owner.service, CLUSTER_TAG: owner.cluster},
                      case_insensitive=True)
    props: Body = {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}
    if settings.dns_label:
        props["dnsSettings"] = {"domainNameLabel": settings.dns_label}
        tags = merge_tags(tags, {DNS_LABEL_SERVICE_TAG: owner.service}, case_insensitive=True)
    if settings.pip_ip_tags:
        props["ipTags"] = [{"ipTagType": k, "tag": v} for k, v in sorted(settings.pip_ip_tags.items())]
    body = {"location": config.location, "sku": {"name": "Standard", "tier": "Regional"}, "tags": tags,
            "properties": props}
    return PublicIpSpec(group=group, name=public_ip_name(request.cluster_name, request.uid), managed=True, body=body)


def _rules_and_probes(request: LoadBalancerRequest, settings: Settings, *, lb_id: str, fe: str, cluster: str,
                      internal: bool, warnings: list[ProviderWarning],
                      ) -> tuple[list[Body], list[Body], tuple[PortStatus, ...]]:
    fe_ref = {"id": child_id(lb_id, "frontendIPConfigurations", fe)}
    pool_ref = {"id": child_id(lb_id, "backendAddressPools", pool_name(cluster))}
    rules: list[Body] = []
    probes: dict[str, Body] = {}
    statuses = port_statuses(request.ports, _PROTOCOLS)
    local = request.health_check is not None
    shared_probe = None
    if local:
        assert request.health_check is not None
        shared_probe = _probe(rule_name(fe, "TCP", request.health_check.port), "Http", request.health_check.port,
                              request.health_check.path, interval=settings.probe_interval, count=settings.probe_count)
    ports = [p for p in request.ports if p.protocol in _PROTOCOLS]
    for p in request.ports:
        if p.protocol not in _PROTOCOLS:
            warnings.append(ProviderWarning(UNSUPPORTED_PROTOCOL, (
                f"port {p.port}/{p.protocol}: Azure load balancers carry TCP and UDP only; the port is not served")))
    if settings.ha_ports and not internal:
        warnings.append(ProviderWarning("HighAvailabilityPortsIgnored", (
            "HA ports exist only on internal Standard load balancers; this public Service gets one rule per port")))
    if settings.ha_ports and internal and ports:
        probe = shared_probe or _port_probe(request, settings, ports[0], fe, warnings)
        rule: Body = {"protocol": "All", "frontendPort": 0, "backendPort": 0, "frontendIPConfiguration": fe_ref,
                      "backendAddressPool": pool_ref, "enableFloatingIP": settings.floating_ip,
                      "idleTimeoutInMinutes": settings.idle_timeout, "enableTcpReset": settings.tcp_reset,
                      "loadDistribution": _distribution(request), "disableOutboundSnat": False}
        if probe is not None:
            probes[probe["name"]] = probe
            rule["probe"] = {"id": child_id(lb_id, "probes", probe["name"])}
        return [{"name": ha_rule_name(fe), "properties": rule}], list(probes.values()), statuses
    for p in ports:
        override = settings.port(p.port)
        if override.no_rule:
            continue
        proto = _PROTOCOLS[p.protocol]
        name = rule_name(fe, p.protocol, p.port)
        rule = {"protocol": proto, "frontendPort": p.port,
                "backendPort": p.port if settings.floating_ip else p.node_port,
                "frontendIPConfiguration": fe_ref, "backendAddressPool": pool_ref,
                "enableFloatingIP": settings.floating_ip, "loadDistribution": _distribution(request),
                "disableOutboundSnat": False}
        if proto == "Tcp":
            rule.update(idleTimeoutInMinutes=settings.idle_timeout, enableTcpReset=settings.tcp_reset)
        probe = None if override.no_probe else (shared_probe or _port_probe(request, settings, p, name, warnings))
        if probe is not None:
            probes[probe["name"]] = probe
            rule["probe"] = {"id": child_id(lb_id, "probes", probe["name"])}
        rules.append({"name": name, "properties": rule})
    return rules, list(probes.values()), statuses


def _distribution(request: LoadBalancerRequest) -> str:
    return "SourceIP" if request.session_affinity == "ClientIP" else "Default"


def _port_probe(request: LoadBalancerRequest, settings: Settings, port: Any, name: str,
                warnings: list[ProviderWarning]) -> Body | None:
    override = settings.port(port.port)
    protocol = override.protocol
    if protocol is None and (port.app_protocol or "").lower() in ("http", "https"):
        protocol = port.app_protocol
    if protocol is None:
        protocol = settings.probe_protocol
    if protocol is None and port.protocol == "UDP":
        return None  # upstream: UDP ports get no probe unless one is asked for
    protocol = _PROBE_PROTOCOLS.get(str(protocol or "tcp").lower(), "Tcp")
    probe_port = _probe_port(request, override.port, port.node_port)
    interval = override.interval or settings.probe_interval
    count = override.count or settings.probe_count
    if interval * count >= 120:
        raise UserError(f"port {port.port}: health-probe interval x num-of-probe ({interval} x {count}) must be less "
                        "than 120 seconds", reason=INVALID_PROBE)
    path = (override.path or settings.probe_path) if protocol != "Tcp" else None
    return _probe(name, protocol, probe_port, path, interval=interval, count=count)


def _probe_port(request: LoadBalancerRequest, value: int | str | None, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    for p in request.ports:
        if p.name == value:
            return p.node_port
    raise UserError(f"health-probe port {value!r} names no port of the Service", reason=INVALID_PROBE)


def _probe(name: str, protocol: str, port: int, path: str | None, *, interval: int, count: int) -> Body:
    props: Body = {"protocol": protocol, "port": port, "intervalInSeconds": interval, "numberOfProbes": count,
                   "probeThreshold": count}
    if path:
        props["requestPath"] = path
    return {"name": name, "properties": props}
