"""The local load balancer's desired listeners and their diff (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ccm.annotations.common import proxy_protocol_requested
from ccm.proxy.engine import Backend, ListenerConfig
from providers.adapter.operations import Kind
from providers.local.operations import ListenerKey, ListenerOp, listener_op
from providers.port import LoadBalancerRequest, Node, ProviderWarning, ServicePort

#: upstream DefaultClientIPServiceAffinitySeconds, used when the Service gives no timeout
DEFAULT_AFFINITY_SECONDS = 10800
FORWARDED_PROTOCOLS = ("TCP", "UDP")


def listener_config(request: LoadBalancerRequest, port: ServicePort, backends: Iterable[str]) -> ListenerConfig:
    """One port's listener: to the node port on ``backends`` (node IPs), with the Service's policies."""
    affinity = None
    if request.session_affinity == "ClientIP":
        affinity = request.session_affinity_timeout or DEFAULT_AFFINITY_SECONDS
    proxy = 2 if port.protocol == "TCP" and proxy_protocol_requested(request.annotations) else None
    return ListenerConfig(
        protocol=port.protocol,  # type: ignore[arg-type]  # checked by the caller
        backends=tuple(Backend(ip, port.node_port) for ip in backends),
        affinity_timeout=affinity,
        source_ranges=tuple(request.source_ranges) if request.source_ranges_set else (),
        send_proxy_protocol=proxy,
    )


def wanted_listeners(request: LoadBalancerRequest, backends: Iterable[str]
                     ) -> tuple[dict[ListenerKey, ListenerConfig], dict[ListenerKey, str], list[ProviderWarning]]:
    """(listener configs, port errors, warnings) for the request's ports with these backend IPs."""
    ips = tuple(backends)
    wanted: dict[ListenerKey, ListenerConfig] = {}
    errors: dict[ListenerKey, str] = {}
    warnings: list[ProviderWarning] = []
    for port in request.ports:
        k = (port.port, port.protocol)
        if port.protocol not in FORWARDED_PROTOCOLS:
            errors[k] = "UnsupportedProtocol"
            warnings.append(ProviderWarning("UnsupportedProtocol", (
                f"port {port.port}/{port.protocol} is not served: the local load balancer "
                "forwards TCP and UDP only")))
        elif not port.node_port:
            errors[k] = "NodePortRequired"
            warnings.append(ProviderWarning("NodePortRequired", (
                f"port {port.port}/{port.protocol} has no nodePort (allocateLoadBalancerNodePorts "
                "is false?): the local load balancer forwards to node ports")))
        else:
            wanted[k] = listener_config(request, port, ips)
    return wanted, errors, warnings


def plan_listeners(vip: str, current: Mapping[ListenerKey, ListenerConfig],
                   wanted: Mapping[ListenerKey, ListenerConfig]) -> tuple[ListenerOp, ...]:
    """Close what is no longer wanted, then open or reconfigure what differs."""
    ops = [listener_op(Kind.DELETE, vip, k) for k in current if k not in wanted]
    for k, config in wanted.items():
        if k not in current:
            ops.append(listener_op(Kind.CREATE, vip, k, config))
        elif current[k] != config:
            ops.append(listener_op(Kind.UPDATE, vip, k, config))
    return tuple(ops)


def node_ips(nodes: Iterable[Node]) -> list[str]:
    """The backend address of each node that has one, in node-name order."""
    return [ip for n in sorted(nodes, key=lambda n: n.name) if (ip := n.address_of("InternalIP", "ExternalIP"))]
