"""The neutral LoadBalancerStatus <-> ``status.loadBalancer`` API dict, and status equality.

Upstream compares statuses with a semantic deep-equal (ipMode, ports and port errors included)
and copies whatever the adapter returned. The API server then defaults ``ipMode: VIP`` for every
ingress with an ip, so an adapter that leaves ipMode unset never compares equal to what is stored
and every sync writes a no-op patch. Deliberate improvement: :func:`normalise` applies the API
server's default before comparing and before writing, so a steady sync writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers.port import Ingress, LoadBalancerStatus, PortStatus

EMPTY = LoadBalancerStatus()


def from_api(lb: Mapping[str, Any] | None) -> LoadBalancerStatus:
    ingress = []
    for ing in (lb or {}).get("ingress") or ():
        ports = tuple(
            PortStatus(int(p.get("port", 0)), str(p.get("protocol", "")), p.get("error"))
            for p in ing.get("ports") or ()
        )
        ingress.append(Ingress(ing.get("ip") or None, ing.get("hostname") or None, ing.get("ipMode"), ports))
    return LoadBalancerStatus(tuple(ingress))


def to_api(status: LoadBalancerStatus) -> dict[str, Any]:
    """``status.loadBalancer`` as the API writes it (empty fields omitted)."""
    ingress = []
    for ing in status.ingress:
        d: dict[str, Any] = {}
        if ing.ip:
            d["ip"] = ing.ip
        if ing.hostname:
            d["hostname"] = ing.hostname
        if ing.ip_mode:
            d["ipMode"] = ing.ip_mode
        if ing.ports:
            ports = []
            for p in ing.ports:
                pd: dict[str, Any] = {"port": p.port, "protocol": p.protocol}
                if p.error:
                    pd["error"] = p.error
                ports.append(pd)
            d["ports"] = ports
        ingress.append(d)
    return {"ingress": ingress} if ingress else {}


def normalise(status: LoadBalancerStatus) -> LoadBalancerStatus:
    """ipMode VIP for every ingress with an ip and no ipMode (the API server's default)."""
    return LoadBalancerStatus(
        tuple(
            dataclasses.replace(i, ip_mode="VIP") if i.ip and not i.ip_mode else i for i in status.ingress
        )
    )


def equal(a: LoadBalancerStatus, b: LoadBalancerStatus) -> bool:
    """Semantic deep-equal of the ingress lists, in order, after ipMode normalisation."""
    return normalise(a) == normalise(b)


def ips(status: LoadBalancerStatus) -> tuple[str, ...]:
    return tuple(i.ip for i in status.ingress if i.ip)
