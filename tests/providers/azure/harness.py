"""The Azure test world: an ARM emulator (HTTPS, in process) with a resource group, a VNet, the cluster
NSG and VMs, and the provider pointed at it exactly as ``ccm controller`` would be."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ccm.annotations.registry import parse
from emulators.azure import AzureEmulator, VirtualMachine
from emulators.azure.seeding import set_power_state
from providers.port import HealthCheck, LoadBalancerRequest, Node, NodeAddress, ProviderContext, ServicePort

CLUSTER = "kubernetes"
RG = "kubernetes-rg"
LOCATION = "eastus"
NSG = "kubernetes-nsg"
VNET = "kubernetes-vnet"
SUBNET = "kubernetes-subnet"
UID = "1234abcd-0000-4000-8000-00000000beef"


@dataclasses.dataclass
class AzureWorld:
    arm: AzureEmulator
    vms: list[VirtualMachine]

    @property
    def subnet_id(self) -> str:
        return (f"/subscriptions/{self.arm.subscription}/resourceGroups/{RG}/providers/Microsoft.Network/"
                f"virtualNetworks/{VNET}/subnets/{SUBNET}")

    def add_vm(self, name: str) -> VirtualMachine:
        vm = self.arm.add_virtual_machine(RG, name, self.subnet_id)
        self.vms.append(vm)
        return vm

    def stop_vm(self, vm: VirtualMachine, power: str = "deallocated") -> None:
        set_power_state(self.arm.state, vm.id, power)

    def node(self, vm: VirtualMachine) -> Node:
        return Node(name=vm.name, provider_id=vm.provider_id,
                    addresses=(NodeAddress("InternalIP", vm.private_ip), NodeAddress("Hostname", vm.name)))

    def nodes(self) -> tuple[Node, ...]:
        return tuple(self.node(vm) for vm in self.vms)

    # -- reading the cloud back (uncounted: straight from the emulator's state) -------------------

    def resource(self, rtype: str, name: str, group: str = RG) -> dict[str, Any] | None:
        rid = self.arm.state.resource_id(group, "Microsoft.Network", (rtype, name))
        return self.arm.state.get(rid) if self.arm.state.exists(rid) else None

    def lb(self, internal: bool = False) -> dict[str, Any] | None:
        return self.resource("loadBalancers", CLUSTER + ("-internal" if internal else ""))

    def children(self, kind: str, internal: bool = False) -> list[str]:
        lb = self.lb(internal)
        return sorted(c["name"] for c in ((lb or {}).get("properties") or {}).get(kind) or [])

    def rule(self, name: str, internal: bool = False) -> dict[str, Any]:
        lb = self.lb(internal) or {}
        return next(r["properties"] for r in lb["properties"]["loadBalancingRules"] if r["name"] == name)

    def probe(self, name: str, internal: bool = False) -> dict[str, Any]:
        lb = self.lb(internal) or {}
        return next(r["properties"] for r in lb["properties"]["probes"] if r["name"] == name)

    def public_ip(self, name: str, group: str = RG) -> dict[str, Any] | None:
        return self.resource("publicIPAddresses", name, group)

    def nsg_rules(self) -> dict[str, dict[str, Any]]:
        nsg = self.resource("networkSecurityGroups", NSG) or {}
        return {r["name"]: r["properties"] for r in nsg["properties"].get("securityRules") or []}

    def nic_pools(self, vm: VirtualMachine) -> list[str]:
        """The load balancers whose backend pool the VM's NIC is in."""
        nic = self.arm.state.get(vm.nic_id)
        cfg = nic["properties"]["ipConfigurations"][0]["properties"]
        return sorted(p["id"].rsplit("/", 3)[-3] for p in cfg.get("loadBalancerBackendAddressPools") or [])

    def ours(self) -> list[str]:
        """Every resource the controller may have made (seeded ones left out)."""
        seeded = {vm.id.lower() for vm in self.vms} | {vm.nic_id.lower() for vm in self.vms}
        return [i for i in self.arm.state.inventory()
                if i.lower() not in seeded and "/virtualnetworks/" not in i.lower()
                and "/networksecuritygroups/" not in i.lower() and "/ipconfigurations/" not in i.lower()]


def build_world(arm: AzureEmulator, nodes: int = 2) -> AzureWorld:
    arm.add_resource_group(RG, LOCATION)
    arm.add_virtual_network(RG, VNET, address_prefixes=("10.240.0.0/16",),
                            subnets={SUBNET: "10.240.0.0/20", "ilb-subnet": "10.240.16.0/24"})
    nsg = arm.state.resource_id(RG, "Microsoft.Network", ("networkSecurityGroups", NSG))
    arm.state.seed(nsg, {"location": LOCATION, "properties": {"securityRules": [
        {"name": "allow-ssh", "properties": {"protocol": "Tcp", "access": "Allow", "direction": "Inbound",
                                              "priority": 500, "sourceAddressPrefix": "10.0.0.0/8",
                                              "sourcePortRange": "*", "destinationAddressPrefix": "*",
                                              "destinationPortRange": "22"}}]}})
    world = AzureWorld(arm, [])
    for i in range(nodes):
        world.add_vm(f"node-{i}")
    return world


def options(arm: AzureEmulator, **extra: str) -> dict[str, str]:
    return {
        "tenantId": "00000000-0000-0000-0000-000000000000", "subscriptionId": arm.subscription,
        "resourceGroup": RG, "location": LOCATION, "vnetName": VNET, "subnetName": SUBNET,
        "securityGroupName": NSG, "loadBalancerSku": "standard", "vmType": "standard",
        "azure-endpoint-url": arm.url, "azure-ca-file": arm.ca_file, "azure-retry-total": "2",
        "azure-retry-backoff": "0.01", "azure-poll-interval": "0.05", **extra,
    }


def make_cloud(arm: AzureEmulator, **extra: str) -> Any:
    from providers.azure import create

    return create(ProviderContext(cluster_name=CLUSTER, options=options(arm, **extra)))


PORTS = (ServicePort("http", "TCP", 80, 30080), ServicePort("https", "TCP", 443, 30443))


def request(world: AzureWorld, annotations: Mapping[str, str] | None = None, *,
            ports: tuple[ServicePort, ...] = PORTS, uid: str = UID, name: str = "web",
            **kw: Any) -> LoadBalancerRequest:
    """``annotations`` maps declared keys to raw strings, parsed as the controller parses them."""
    parsed = parse("azure", dict(annotations or {}))
    assert not parsed.errors, parsed.errors
    kw.setdefault("nodes", world.nodes())
    return LoadBalancerRequest(cluster_name=CLUSTER, namespace="default", name=name, uid=uid, ports=ports,
                               annotations=parsed.values, **kw)


def local(req: LoadBalancerRequest, hcnp: int = 32000) -> LoadBalancerRequest:
    return dataclasses.replace(req, external_traffic_policy="Local", health_check=HealthCheck("/healthz", hcnp))
