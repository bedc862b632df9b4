"""VMs behind Nodes (cloud-provider-azure ``azure_instances.go`` / InstancesV2), read-only.

Nodes map to VMs by providerID ``azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/
Microsoft.Compute/virtualMachines/<name>``; a node without one is looked up by name in the config's
resource group (upstream's fallback). Reads go through the network client's own pipeline
(``send_request``: the same endpoint, credential, retries and counting), so no Compute SDK is needed
for three GETs:

* exists: the VM GET answers (404: False, which deletes the Node);
* shut down: the instance view's ``PowerState/stopped`` or ``PowerState/deallocated``;
* metadata: ``vmSize`` as the instance type, the region, zone ``<region>-<zone>`` for a zonal VM
  (else the fault domain, as upstream), and the addresses: the primary NIC's private IPs as
  InternalIP, its public IP as ExternalIP, the computer name as Hostname.
"""

from __future__ import annotations

from typing import Any

from azure.core.rest import HttpRequest

from providers.azure.clients import Clients, is_not_found
from providers.azure.config import AzureConfig
from providers.azure.names import resource_id, vm_id_of
from providers.instances import InstanceMetadata, InstanceNotFound, Instances, Node, NodeAddress

COMPUTE_API_VERSION = "2024-07-01"
NETWORK_API_VERSION = "2026-03-01"
PROVIDER_ID_SCHEME = "azure://"
_STOPPED = ("PowerState/stopped", "PowerState/deallocated", "PowerState/deallocating", "PowerState/stopping")


class AzureInstances(Instances):
    def __init__(self, clients: Clients, config: AzureConfig) -> None:
        self.clients = clients
        self.config = config

    def _get(self, path: str, api_version: str, **query: str) -> dict[str, Any] | None:
        params = {"api-version": api_version, **query}
        request = HttpRequest("GET", path, params=params)
        response = self.clients.network.send_request(request)
        try:
            response.raise_for_status()
        except Exception as exc:
            if is_not_found(exc) or response.status_code == 404:
                return None
            raise
        return dict(response.json())

    def _vm_id(self, node: Node) -> str:
        if node.provider_id:
            vm = vm_id_of(node.provider_id)
            if vm is None:
                raise ValueError(f"node {node.name}: provider id {node.provider_id!r} is not an Azure VM")
            return vm
        return resource_id(self.config.subscription_id, self.config.resource_group, "Microsoft.Compute",
                           "virtualMachines", node.name)

    def _vm(self, node: Node, view: bool = False) -> dict[str, Any] | None:
        extra = {"$expand": "instanceView"} if view else {}
        return self._get(self._vm_id(node), COMPUTE_API_VERSION, **extra)

    def instance_exists(self, node: Node) -> bool:
        return self._vm(node) is not None

    def instance_shutdown(self, node: Node) -> bool:
        vm = self._vm(node, view=True)
        if vm is None:
            return False
        statuses = ((vm.get("properties") or {}).get("instanceView") or {}).get("statuses") or []
        return any(str(s.get("code", "")) in _STOPPED for s in statuses)

    def instance_metadata(self, node: Node) -> InstanceMetadata | None:
        vm = self._vm(node, view=True)
        if vm is None:
            raise InstanceNotFound(f"no VM for node {node.name} ({self._vm_id(node)})")
        p = vm.get("properties") or {}
        location = str(vm.get("location") or self.config.location)
        zones = vm.get("zones") or []
        if zones:
            zone = f"{location}-{zones[0]}"
        else:
            domain = (p.get("instanceView") or {}).get("platformFaultDomain")
            zone = str(domain) if domain is not None else ""
        return InstanceMetadata(
            provider_id=PROVIDER_ID_SCHEME + str(vm.get("id") or self._vm_id(node)),
            instance_type=str((p.get("hardwareProfile") or {}).get("vmSize") or ""),
            node_addresses=self._addresses(vm, node),
            zone=zone,
            region=location,
        )

    def _addresses(self, vm: dict[str, Any], node: Node) -> tuple[NodeAddress, ...]:
        p = vm.get("properties") or {}
        refs = (p.get("networkProfile") or {}).get("networkInterfaces") or []
        primary = next((r for r in refs if (r.get("properties") or {}).get("primary")), refs[0] if refs else None)
        out: list[NodeAddress] = []
        if primary is not None:
            nic = self._get(str(primary["id"]), NETWORK_API_VERSION) or {}
            configs = (nic.get("properties") or {}).get("ipConfigurations") or []
            configs = sorted(configs, key=lambda c: not (c.get("properties") or {}).get("primary"))
            public = []
            for cfg in configs:
                cp = cfg.get("properties") or {}
                if cp.get("privateIPAddress"):
                    out.append(NodeAddress("InternalIP", str(cp["privateIPAddress"])))
                if (cp.get("publicIPAddress") or {}).get("id"):
                    public.append(str(cp["publicIPAddress"]["id"]))
            for pip_id in public:
                pip = self._get(pip_id, NETWORK_API_VERSION) or {}
                address = (pip.get("properties") or {}).get("ipAddress")
                if address:
                    out.append(NodeAddress("ExternalIP", str(address)))
        hostname = (p.get("osProfile") or {}).get("computerName") or node.name
        out.append(NodeAddress("Hostname", str(hostname)))
        return tuple(out)
