"""``status.loadBalancer.ingress[].ports``: every Service port, with ``UnsupportedProtocol`` on
those the load-balancer type cannot carry (SCTP anywhere; UDP on a Classic ELB).

Upstream fails the whole Service over one such port; every adapter here serves the ports it can
and reports the others per port.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from providers.port import PortStatus, ServicePort

UNSUPPORTED_PROTOCOL = "UnsupportedProtocol"


def port_statuses(ports: Iterable[ServicePort], carried: Collection[str]) -> tuple[PortStatus, ...]:
    """One status per port, in the Service's order; ``carried``: the protocols the type serves."""
    return tuple(PortStatus(p.port, p.protocol, None if p.protocol in carried else UNSUPPORTED_PROTOCOL)
                 for p in ports)
