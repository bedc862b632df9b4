"""Node addresses: the cloud's list, kubelet's ``--node-ip`` preference and change detection (pure).

Follows k8s.io/cloud-provider ``node/helpers/address.go`` and ``updateNodeAddress``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from ccm.controllers.nodeutil import PROVIDED_NODE_IP

Address = dict[str, str]


class NodeIPError(ValueError):
    """kubelet's provided node IP is malformed or is not among the cloud's addresses."""


def parse_node_ip_annotation(value: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """``ParseNodeIPAnnotation``: one IP, or two of different families; an unspecified IP only alone."""
    parts = [p.strip() for p in value.split(",")]
    try:
        ips = [ipaddress.ip_address(p) for p in parts]
    except ValueError:
        raise NodeIPError(f"could not parse {value!r}: not an IP address or a dual-stack pair") from None
    if len(ips) > 2 or (len(ips) == 2 and ips[0].version == ips[1].version):
        raise NodeIPError(f"could not parse {value!r}: must contain one IP, or one IPv4 and one IPv6")
    if len(ips) == 2 and any(ip.is_unspecified for ip in ips):
        raise NodeIPError(f"could not parse {value!r}: a dual-stack value cannot contain an unspecified IP")
    return ips


def _same_ip(address: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(address) == ip
    except ValueError:
        return False


def _family(address: str) -> int | None:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return None  # a DNS name: no family


def addresses_from_node_ip(provided: str, cloud: Sequence[Mapping[str, str]]) -> list[Address]:
    """``GetNodeAddressesFromNodeIP``: kubelet's IP wins its address type; it must be among the cloud's.

    An unspecified IP (``0.0.0.0``, ``::``) only puts that family's addresses first.
    """
    ips = parse_node_ip_annotation(provided)
    listed = [dict(a) for a in cloud]
    if ips[0].is_unspecified:
        want = ips[0].version
        return sorted(listed, key=lambda a: 0 if _family(a["address"]) in (want, None) else 1)
    enforced: list[Address] = []
    types: set[str] = set()
    for ip in ips:
        matches = [a for a in listed if _same_ip(a["address"], ip)]
        if not matches:
            raise NodeIPError(f"failed to get node address from cloud provider that matches ip: {ip}")
        enforced += matches
        types.update(a["type"] for a in matches)
    return enforced + [a for a in listed if a["type"] not in types]


def addresses_changed(old: Sequence[Mapping[str, str]], new: Sequence[Mapping[str, str]]) -> bool:
    """Whether the ordered (type, address) lists differ.

    Deviation: upstream's ``nodeAddressesChangeDetected`` keys the old list by type (the last address
    of a type wins), so a node with two InternalIPs is "changed" on every pass (one status patch
    per node every period) while some reorderings go unnoticed; the order matters to consumers
    (the first InternalIP is the one most pick), so the whole list is compared.
    """
    def pairs(addresses: Sequence[Mapping[str, str]]) -> list[tuple[str | None, str | None]]:
        return [(a.get("type"), a.get("address")) for a in addresses]

    return pairs(old) != pairs(new)


def desired_addresses(node: Mapping[str, Any], cloud: Sequence[Mapping[str, str]]) -> list[Address] | None:
    """The addresses the node should show, or None when the cloud's list must not be applied.

    None when the cloud reported none. kubelet's Hostname entries are kept when the cloud gives no
    Hostname; kubelet's provided node IP is applied (raises :class:`NodeIPError` when it is invalid).
    """
    if not cloud:
        return None
    wanted = [dict(a) for a in cloud]
    current = (node.get("status") or {}).get("addresses") or []
    if not any(a["type"] == "Hostname" for a in wanted):
        wanted += [dict(a) for a in current if isinstance(a, dict) and a.get("type") == "Hostname"]
    provided = ((node.get("metadata") or {}).get("annotations") or {}).get(PROVIDED_NODE_IP)
    if provided:
        wanted = addresses_from_node_ip(provided, wanted)
    return wanted
