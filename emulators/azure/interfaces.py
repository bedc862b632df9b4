"""``Microsoft.Network/networkInterfaces``: IP configurations and load-balancer pool membership.

A NIC joins a load balancer's backend pool through its IP configuration's
``loadBalancerBackendAddressPools``; each reference must name an existing pool that holds no
IP-address members. ``virtualMachine`` is read-only (set when a VM is seeded with the NIC) and
survives the client's PUTs, as on ARM; a NIC attached to a VM cannot be deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errors, publicips, vnets
from .ids import ResourceId, key_of
from .kinds import Body, Kind, props, ref_id

if TYPE_CHECKING:
    from .state import ArmState

_POOL_TYPE = "microsoft.network/loadbalancers/backendaddresspools"


class NetworkInterfaceKind(Kind):
    type = "Microsoft.Network/networkInterfaces"
    children = {"ipconfigurations": "ipConfigurations"}

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        p = props(body)
        configs = p.get("ipConfigurations") or []
        if not configs:
            raise errors.InvalidParameter(f"Network interface {rid} needs at least one IP configuration.")
        if len(configs) == 1:
            props(configs[0]).setdefault("primary", True)
        if sum(1 for c in configs if props(c).get("primary")) != 1:
            raise errors.NicMustHavePrimaryIpConfiguration(
                f"Network interface {rid} must have exactly one primary IP configuration.")
        refs = state.references()
        old_p = props(old) if old is not None else {}
        old_configs = {c["name"].lower(): c for c in old_p.get("ipConfigurations") or []}
        used: dict[str, set[str]] = {}
        for cfg in configs:
            where = str(rid.child("ipConfigurations", cfg.get("name", "")))
            cp = props(cfg)
            subnet = vnets.resolve_subnet(state, ref_id(cp.get("subnet")), where)
            skey = key_of(str(subnet["id"]))
            if skey not in used:
                used[skey] = vnets.used_addresses(refs, str(subnet["id"]), rid.key)
            vnets.assign_private_ip(subnet, cp, old=old_configs.get(cfg.get("name", "").lower()),
                                    used=used[skey], referrer=where)
            pip_id = ref_id(cp.get("publicIPAddress"))
            if pip_id:
                pip = publicips.check_attachable(state, refs, pip_id, referrer=where, referrer_top=rid.key,
                                                 location=body["location"], sku=None)
                cp["publicIPAddress"] = {"id": pip["id"]}
            pools = []
            for ref in cp.get("loadBalancerBackendAddressPools") or []:
                pool_id = ref_id(ref)
                pool_rid = ResourceId.parse(pool_id or "")
                pool = state.lookup(pool_id or "")
                if pool is None or pool_rid is None or pool_rid.type_key != _POOL_TYPE:
                    raise errors.InvalidResourceReference(str(pool_id), where)
                if props(pool).get("loadBalancerBackendAddresses"):
                    raise errors.MixedBackendPoolMembers(
                        f"Backend address pool {pool['id']} holds IP addresses; IP configuration {where} "
                        "cannot join it.")
                pools.append({"id": pool["id"]})
            if pools:
                cp["loadBalancerBackendAddressPools"] = pools
            else:
                cp.pop("loadBalancerBackendAddressPools", None)
        nsg = ref_id(p.get("networkSecurityGroup"))
        if nsg is not None:
            if state.lookup(nsg) is None:
                raise errors.InvalidResourceReference(nsg, str(rid))
            p["networkSecurityGroup"] = {"id": nsg}
        for kept in ("virtualMachine", "macAddress"):
            if old_p.get(kept):
                p[kept] = old_p[kept]
        return body

    def check_delete(self, state: ArmState, rid: ResourceId, stored: Body) -> None:
        vm = ref_id(props(stored).get("virtualMachine"))
        if vm and state.lookup(vm) is not None:
            raise errors.ArmError(
                f"Network Interface {stored['id']} is used by existing resource {vm}. In order to "
                "delete the network interface, it must be dissociated from the resource.")


class VirtualMachineKind(Kind):
    """``Microsoft.Compute/virtualMachines``: served read-only; the emulator never runs them."""

    type = "Microsoft.Compute/virtualMachines"
    writable = False

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        p = props(body)
        for ref in (p.get("networkProfile") or {}).get("networkInterfaces") or []:
            if state.lookup(ref_id(ref) or "") is None:
                raise errors.InvalidResourceReference(str(ref_id(ref)), str(rid))
        p.setdefault("vmId", (props(old).get("vmId") if old else None) or _uuid())
        view = p.setdefault("instanceView", {})
        view.setdefault("statuses", [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
            {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"},
        ])
        return body

    def render(self, state: ArmState, rid: ResourceId, stored: Body) -> Body:
        props(stored)["provisioningState"] = "Succeeded"
        return stored


def power_state(vm: Body) -> str:
    """``running``, ``stopped``, ``deallocated``... from the instance view's PowerState status."""
    for status in (props(vm).get("instanceView") or {}).get("statuses") or []:
        code = str(status.get("code", ""))
        if code.startswith("PowerState/"):
            return code.split("/", 1)[1]
    return "unknown"


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())
