"""What a subscription holds before a cloud controller runs: networks, VMs and their NICs.

Tests, ``ccm demo`` and ``ccm emulator azure --seed`` build the same small world with these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from .ids import ResourceId
from .kinds import props
from .state import ArmState


@dataclasses.dataclass(frozen=True, slots=True)
class VirtualMachine:
    name: str
    id: str
    nic_id: str
    ip_configuration_id: str
    private_ip: str

    @property
    def provider_id(self) -> str:
        """The Kubernetes Node ``spec.providerID`` for this VM (``azure://`` + its ID)."""
        return f"azure://{self.id}"


def add_virtual_network(state: ArmState, resource_group: str, name: str = "kubernetes-vnet", *,
                        address_prefixes: Sequence[str] = ("10.240.0.0/16",),
                        subnets: Mapping[str, str] | None = None, location: str | None = None) -> str:
    """A virtual network with subnets (name -> prefix); returns its ID."""
    subnets = subnets if subnets is not None else {"kubernetes-subnet": "10.240.0.0/16"}
    rid = state.resource_id(resource_group, "Microsoft.Network", ("virtualNetworks", name))
    state.seed(rid, {
        "location": location or state.location_of_group(rid),
        "properties": {
            "addressSpace": {"addressPrefixes": list(address_prefixes)},
            "subnets": [{"name": n, "properties": {"addressPrefix": p}} for n, p in subnets.items()],
        },
    })
    return str(rid)


def add_virtual_machine(state: ArmState, resource_group: str, name: str, subnet_id: str, *,
                        private_ip: str | None = None, vm_size: str = "Standard_D2s_v3",
                        zones: Sequence[str] = (), location: str | None = None) -> VirtualMachine:
    """A VM with one NIC (``<name>-nic``, IP configuration ``ipconfig1``) in ``subnet_id``."""
    nic_rid = state.resource_id(resource_group, "Microsoft.Network", ("networkInterfaces", f"{name}-nic"))
    vm_rid = state.resource_id(resource_group, "Microsoft.Compute", ("virtualMachines", name))
    loc = location or state.location_of_group(nic_rid)
    ipconfig: dict[str, object] = {"subnet": {"id": subnet_id}, "primary": True,
                                   "privateIPAllocationMethod": "Dynamic"}
    if private_ip:
        ipconfig.update(privateIPAllocationMethod="Static", privateIPAddress=private_ip)
    nic = state.seed(nic_rid, {"location": loc, "properties": {
        "ipConfigurations": [{"name": "ipconfig1", "properties": ipconfig}]}})
    state.seed(vm_rid, {
        "location": loc,
        "zones": list(zones),
        "properties": {
            "hardwareProfile": {"vmSize": vm_size},
            "storageProfile": {"osDisk": {"osType": "Linux", "name": f"{name}-osdisk"}},
            "osProfile": {"computerName": name},
            "networkProfile": {"networkInterfaces": [{"id": nic["id"], "properties": {"primary": True}}]},
        },
    })
    with state.lock:
        stored = state.resources[nic_rid.key]
        props(stored)["virtualMachine"] = {"id": str(vm_rid)}
        props(stored)["macAddress"] = _mac(name)
        state.touch()
    cfg = props(nic)["ipConfigurations"][0]
    return VirtualMachine(name=name, id=str(vm_rid), nic_id=nic["id"], ip_configuration_id=cfg["id"],
                          private_ip=props(cfg)["privateIPAddress"])


def set_power_state(state: ArmState, vm_id: str, power: str) -> None:
    """Stop, deallocate or start a VM as its owner would (``running``, ``stopped``, ``deallocated``)."""
    rid = ResourceId.parse(vm_id)
    assert rid is not None
    with state.lock:
        vm = state.resources[rid.key]
        statuses = props(vm)["instanceView"]["statuses"]
        statuses[:] = [s for s in statuses if not str(s.get("code", "")).startswith("PowerState/")]
        statuses.append({"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"})


def remove_virtual_machine(state: ArmState, vm_id: str) -> None:
    """Delete a VM and its NIC as its owner would (the NIC leaves every pool with it)."""
    rid = ResourceId.parse(vm_id)
    assert rid is not None
    with state.lock:
        vm = state.resources.pop(rid.key, None)
        if vm is None:
            return
        for ref in (props(vm).get("networkProfile") or {}).get("networkInterfaces") or []:
            nic_rid = ResourceId.parse(ref["id"])
            if nic_rid is not None:
                state.resources.pop(nic_rid.key, None)
        state.touch()


def _mac(name: str) -> str:
    h = abs(hash(name)) & 0xFFFFFFFFFF
    return "00-0D-3A-" + "-".join(f"{(h >> s) & 0xFF:02X}" for s in (16, 8, 0))
