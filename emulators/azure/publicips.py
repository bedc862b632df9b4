"""``Microsoft.Network/publicIPAddresses``: SKU and allocation rules, DNS labels, in-use checks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import errors
from .ids import ResourceId, key_of
from .kinds import Body, Kind, props

if TYPE_CHECKING:
    from .state import ArmState, Reference

_LABEL_RE = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_IPV6_PREFIX = "2001:db8:a2e0::"  # documentation range (RFC 3849)


def canonical(value: str | None, allowed: tuple[str, ...], default: str, what: str, where: str) -> str:
    """ARM accepts enum values in any case and stores the canonical spelling."""
    if value is None or value == "":
        return default
    for a in allowed:
        if str(value).lower() == a.lower():
            return a
    raise errors.InvalidParameter(f"{what} {value!r} of {where} is not one of {', '.join(allowed)}.")


class PublicIPAddressKind(Kind):
    type = "Microsoft.Network/publicIPAddresses"

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        where = str(rid)
        sku = dict(body.get("sku") or {})
        sku["name"] = canonical(sku.get("name"), ("Basic", "Standard"), "Basic", "SKU", where)
        sku["tier"] = canonical(sku.get("tier"), ("Regional", "Global"), "Regional", "SKU tier", where)
        body["sku"] = sku
        if old is not None and old["sku"]["name"] != sku["name"]:
            raise errors.PublicIPSkuCannotBeChanged(
                f"Public IP address {where} has SKU {old['sku']['name']}; it cannot change to {sku['name']}.")
        p = props(body)
        method = canonical(p.get("publicIPAllocationMethod"), ("Static", "Dynamic"), "Dynamic",
                           "publicIPAllocationMethod", where)
        if sku["name"] == "Standard" and method != "Static":
            raise errors.StandardSkuPublicIPAddressMustBeStatic(
                f"Standard sku publicIp {where} must have AllocationMethod set to Static.")
        p["publicIPAllocationMethod"] = method
        version = canonical(p.get("publicIPAddressVersion"), ("IPv4", "IPv6"), "IPv4",
                            "publicIPAddressVersion", where)
        p["publicIPAddressVersion"] = version
        idle = p.get("idleTimeoutInMinutes", 4)
        if not isinstance(idle, int) or not 4 <= idle <= 30:
            raise errors.InvalidParameter(
                f"idleTimeoutInMinutes {idle!r} of {where} is out of the range 4-30.")
        p["idleTimeoutInMinutes"] = idle
        if p.get("publicIPPrefix"):
            raise errors.InvalidResourceReference(str(p["publicIPPrefix"].get("id")), where)
        old_ip = props(old).get("ipAddress") if old is not None else None
        if old_ip:
            p["ipAddress"] = old_ip
        elif version == "IPv6":
            p["ipAddress"] = f"{_IPV6_PREFIX}{len(state.resources) + 1:x}"
        else:
            p["ipAddress"] = state.allocate_public_ip()
        self._dns(state, rid, body, p)
        return body

    def _dns(self, state: ArmState, rid: ResourceId, body: Body, p: Body) -> None:
        dns = p.get("dnsSettings")
        if not dns or not dns.get("domainNameLabel"):
            p.pop("dnsSettings", None)
            return
        label = str(dns["domainNameLabel"])
        if not _LABEL_RE.match(label):
            raise errors.InvalidDomainNameLabel(
                f"The domain name label {label} is invalid. It must conform to the following regular "
                "expression: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$.")
        for other in state.resources.values():
            if other.get("type") != self.type or key_of(other["id"]) == rid.key:
                continue
            other_dns = props(other).get("dnsSettings") or {}
            if other.get("location") == body["location"] and other_dns.get("domainNameLabel") == label:
                raise errors.DnsRecordInUse(
                    f"DNS record {label}.{body['location']}.cloudapp.azure.com is already used by "
                    f"another public IP {other['id']}.")
        p["dnsSettings"] = {**dns, "fqdn": f"{label}.{body['location']}.cloudapp.azure.com"}

    def check_delete(self, state: ArmState, rid: ResourceId, stored: Body) -> None:
        for ref in state.references().get(rid.key, []):
            raise errors.PublicIPAddressCannotBeDeleted(
                f"Public IP address {stored['id']} can not be deleted since it is still allocated to "
                f"resource {ref.referrer}. In order to delete the public IP, disassociate/detach the "
                "Public IP address from the resource.")

    def render(self, state: ArmState, rid: ResourceId, stored: Body) -> Body:
        refs = state.references().get(rid.key, [])
        if refs:
            props(stored)["ipConfiguration"] = {"id": refs[0].referrer}
        return stored


def check_attachable(state: ArmState, refs: dict[str, list[Reference]], pip_id: str, *, referrer: str,
                     referrer_top: str, location: str, sku: str | None) -> Body:
    """The public IP an IP configuration references, if it may be attached there."""
    pip = state.lookup(pip_id)
    rid = ResourceId.parse(pip_id)
    if pip is None or rid is None or rid.type_key != "microsoft.network/publicipaddresses" \
            or pip.get("location") != location:
        raise errors.InvalidResourceReference(pip_id, referrer)
    if sku is not None and pip["sku"]["name"] != sku:
        raise errors.PublicIPAndLBSkuDoNotMatch(
            f"{sku} sku load balancer {referrer.rsplit('/frontendIPConfigurations/', 1)[0]} cannot "
            f"reference {pip['sku']['name']} sku publicIP {pip['id']}.")
    for ref in refs.get(key_of(pip_id), []):
        if ref.top != referrer_top:
            raise errors.PublicIPAddressInUse(
                f"Resource {referrer} is referencing public IP address {pip['id']} that is already "
                f"allocated to resource {ref.referrer}.")
    return pip
