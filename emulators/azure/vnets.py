"""Virtual networks and subnets (read-only over the wire), and private address allocation.

Azure reserves the first four addresses of every subnet and its last one; a dynamic private
IP is the lowest free address after those, a static one must lie in the subnet and be free.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from . import errors
from .ids import ResourceId, key_of
from .kinds import Body, Kind, props, ref_id

if TYPE_CHECKING:
    from .state import ArmState, Reference


class VirtualNetworkKind(Kind):
    type = "Microsoft.Network/virtualNetworks"
    writable = False
    children = {"subnets": "subnets"}

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        p = props(body)
        space = p.get("addressSpace") or {}
        prefixes = [ipaddress.ip_network(c, strict=False) for c in space.get("addressPrefixes") or []]
        for subnet in p.get("subnets") or []:
            net = subnet_network(subnet)
            if net is None or not any(net.subnet_of(pfx) for pfx in prefixes  # type: ignore[arg-type]
                                      if pfx.version == net.version):
                raise errors.InvalidParameter(
                    f"Subnet {subnet.get('name')} is not within the address space of {rid}.")
        return body


def subnet_network(subnet: Body) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    p = props(subnet)
    prefix = p.get("addressPrefix") or next(iter(p.get("addressPrefixes") or []), None)
    if not prefix:
        return None
    return ipaddress.ip_network(prefix, strict=False)


def resolve_subnet(state: ArmState, subnet_id: str | None, referrer: str) -> Body:
    subnet = state.lookup(subnet_id or "")
    rid = ResourceId.parse(subnet_id or "")
    if subnet is None or rid is None or rid.type_key != "microsoft.network/virtualnetworks/subnets":
        raise errors.InvalidResourceReference(str(subnet_id), referrer)
    return subnet


def used_addresses(refs: dict[str, list[Reference]], subnet_id: str, exclude_top: str) -> set[str]:
    """Private IPs taken in a subnet by anything but the resource being written."""
    used = set()
    for ref in refs.get(key_of(subnet_id), []):
        if ref.top != exclude_top:
            ip = props(ref.obj).get("privateIPAddress")
            if ip:
                used.add(str(ip))
    return used


def assign_private_ip(subnet: Body, fp: Body, *, old: Body | None, used: set[str], referrer: str) -> None:
    """Fill ``privateIPAddress``/``privateIPAllocationMethod`` of an IP configuration in place."""
    net = subnet_network(subnet)
    if net is None:
        raise errors.InvalidParameter(f"Subnet {subnet.get('id')} has no address prefix.")
    method = str(fp.get("privateIPAllocationMethod") or "Dynamic").capitalize()
    if method not in ("Dynamic", "Static"):
        raise errors.InvalidParameter(f"privateIPAllocationMethod {method!r} of {referrer} is not Dynamic or Static.")
    first, last = _usable(net)
    if method == "Static":
        addr = fp.get("privateIPAddress")
        try:
            ip = ipaddress.ip_address(str(addr))
        except ValueError:
            raise errors.InvalidParameter(
                f"Static private IP address {addr!r} of {referrer} is not an IP address.") from None
        if ip not in net or not (first <= int(ip) <= last):
            raise errors.PrivateIPAddressNotInSubnet(
                f"IP configuration {referrer} references the private IP address {ip} which is not "
                f"in the usable range of subnet {subnet.get('id')} ({net}).")
        if str(ip) in used:
            raise errors.PrivateIPAddressInUse(
                f"IP configuration {referrer} is using the private IP address {ip} which is already "
                "allocated to another resource.")
        address = str(ip)
    else:
        keep = props(old).get("privateIPAddress") if old is not None else None
        old_subnet = ref_id(props(old).get("subnet")) if old is not None else None
        if keep and old_subnet and key_of(old_subnet) == key_of(str(subnet.get("id"))) and keep not in used:
            address = str(keep)
        else:
            address = _first_free(net, first, last, used, subnet)
    fp["privateIPAllocationMethod"] = method
    fp["privateIPAddress"] = address
    fp["privateIPAddressVersion"] = "IPv4" if net.version == 4 else "IPv6"
    fp["subnet"] = {"id": subnet["id"]}
    used.add(address)


def _usable(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    return int(net.network_address) + 4, int(net.broadcast_address) - 1


def _first_free(net: ipaddress.IPv4Network | ipaddress.IPv6Network, first: int, last: int,
                used: set[str], subnet: Body) -> str:
    cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    for n in range(first, min(last, first + 65536) + 1):
        candidate = str(cls(n))
        if candidate not in used:
            return candidate
    raise errors.SubnetIsFull(f"Subnet {subnet.get('id')} has no free private IP address left.")
