"""Nova v2.1 reads: servers (by id, brief and detailed lists) and flavors.

Servers are seeded by the emulator's owner (``add_server``): each gets a Neutron port on its subnet
(``device_owner: compute:<az>``), so its address shows both in Nova's ``addresses`` and as a port a
load balancer member can be found on. Microversions follow Nova: the answer's ``flavor`` is the
embedded description from 2.47 on and the ``{id, links}`` reference before; an unsupported version
is refused with 406.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from emulators.openstack.errors import ApiError, NotAcceptable, NotFound
from emulators.openstack.ids import new_uuid
from emulators.openstack.network import Network
from emulators.openstack.timefmt import now_seconds

Json = dict[str, Any]

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)
STATUSES = ("ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "ERROR", "BUILD", "DELETED", "SOFT_DELETED", "SHELVED",
            "SHELVED_OFFLOADED", "STOPPED")

DEFAULT_FLAVORS = (
    ("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20), ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
)


def parse_microversion(header: str | None) -> tuple[int, int]:
    """``OpenStack-API-Version: compute 2.47`` (or the legacy header's bare value) -> (2, 47)."""
    if not header:
        return MIN_VERSION
    value = header.split()[-1].strip()
    if value == "latest":
        return MAX_VERSION
    try:
        major, minor = (int(x) for x in value.split("."))
    except ValueError:
        raise ApiError(f"Invalid API version request string {value}", status=400) from None
    if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
        raise NotAcceptable(f"Version {value} is not supported by the API. Minimum is "
                            f"{MIN_VERSION[0]}.{MIN_VERSION[1]} and maximum is {MAX_VERSION[0]}.{MAX_VERSION[1]}.")
    return major, minor


@dataclass
class Compute:
    servers: dict[str, Json] = field(default_factory=dict)
    flavors: dict[str, Json] = field(default_factory=lambda: {
        fid: {"id": fid, "name": name, "vcpus": cpus, "ram": ram, "disk": disk, "swap": 0,
              "OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": True, "rxtx_factor": 1.0,
              "OS-FLV-DISABLED:disabled": False, "description": None, "extra_specs": {}}
        for fid, name, cpus, ram, disk in DEFAULT_FLAVORS})

    def add_server(self, network: Network, project: str, name: str, *, subnet_id: str, ip: str | None = None,
                   status: str = "ACTIVE", flavor: str = "m1.small", availability_zone: str = "nova",
                   metadata: dict[str, str] | None = None, server_id: str | None = None,
                   user_id: str = "") -> Json:
        if status not in STATUSES:
            raise ValueError(f"unknown server status {status!r}")
        flavor_row = next((f for f in self.flavors.values() if flavor in (f["id"], f["name"])), None)
        if flavor_row is None:
            raise ValueError(f"unknown flavor {flavor!r}")
        sid = server_id or new_uuid()
        subnet = network.find("subnets", subnet_id)
        port = network.create("ports", project, {
            "network_id": subnet["network_id"], "name": f"{name}-port",
            "fixed_ips": [{"subnet_id": subnet_id, **({"ip_address": ip} if ip else {})}],
            "device_id": sid, "device_owner": f"compute:{availability_zone}"})
        now = now_seconds()
        self.servers[sid] = {
            "id": sid, "name": name, "status": status, "tenant_id": project, "user_id": user_id,
            "metadata": dict(metadata or {}), "hostId": new_uuid(), "created": now, "updated": now,
            "OS-EXT-AZ:availability_zone": availability_zone, "OS-EXT-STS:vm_state": _vm_state(status),
            "OS-EXT-STS:power_state": 1 if status == "ACTIVE" else 4, "OS-EXT-STS:task_state": None,
            "key_name": None, "image": {"id": new_uuid()}, "accessIPv4": "", "accessIPv6": "", "locked": False,
            "config_drive": "", "progress": 0, "tags": [], "description": None,
            "security_groups": [{"name": "default"}], "OS-DCF:diskConfig": "MANUAL",
            "_flavor_id": flavor_row["id"], "_ports": [port["id"]],
        }
        return self.server_view(sid, network, (2, 1))

    def set_status(self, server_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown server status {status!r}")
        row = self._get(server_id)
        row.update(status=status, updated=now_seconds(), **{"OS-EXT-STS:vm_state": _vm_state(status)})

    def remove_server(self, network: Network, server_id: str) -> None:
        row = self.servers.pop(server_id)
        for port_id in row["_ports"]:
            if port_id in network.collections["ports"]:
                network.delete_port(row["tenant_id"], port_id)

    def _get(self, server_id: str, project: str | None = None) -> Json:
        row = self.servers.get(server_id)
        if row is None or (project is not None and row["tenant_id"] != project):
            raise NotFound(f"Instance {server_id} could not be found.")
        return row

    def server_view(self, server_id: str, network: Network, version: tuple[int, int],
                    project: str | None = None) -> Json:
        row = self._get(server_id, project)
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        flavor = self.flavors[row["_flavor_id"]]
        if version >= (2, 47):
            out["flavor"] = {"original_name": flavor["name"], "vcpus": flavor["vcpus"], "ram": flavor["ram"],
                             "disk": flavor["disk"], "ephemeral": 0, "swap": 0, "extra_specs": {}}
        else:
            out["flavor"] = {"id": flavor["id"], "links": []}
        addresses: dict[str, list[Json]] = {}
        for port_id in row["_ports"]:
            port = network.collections["ports"].get(port_id)
            if port is None:
                continue
            net_name = network.collections["networks"][port["network_id"]]["name"]
            for ip in port["fixed_ips"]:
                addresses.setdefault(net_name, []).append({
                    "addr": ip["ip_address"], "version": ipaddress.ip_address(ip["ip_address"]).version,
                    "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
            for fip in network.collections["floatingips"].values():
                if fip.get("port_id") == port_id:
                    addresses.setdefault(net_name, []).append({
                        "addr": fip["floating_ip_address"], "version": 4, "OS-EXT-IPS:type": "floating",
                        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
        out["addresses"] = addresses
        out["links"] = []
        return out

    def list_servers(self, network: Network, version: tuple[int, int], project: str, query: dict[str, list[str]],
                     *, detail: bool) -> list[Json]:
        out = []
        for sid, row in self.servers.items():
            if row["tenant_id"] != project:
                continue
            if "status" in query and row["status"] not in query["status"]:
                continue
            if "name" in query and not any(re.search(pattern, row["name"]) for pattern in query["name"]):
                continue
            if detail:
                out.append(self.server_view(sid, network, version))
            else:
                out.append({"id": sid, "name": row["name"], "links": []})
        return out

    def flavor_view(self, flavor_id: str) -> Json:
        flavor = self.flavors.get(flavor_id)
        if flavor is None:
            raise NotFound(f"Flavor {flavor_id} could not be found.")
        return {**flavor, "links": []}


def _vm_state(status: str) -> str:
    return {"ACTIVE": "active", "SHUTOFF": "stopped", "STOPPED": "stopped", "ERROR": "error", "BUILD": "building",
            "PAUSED": "paused", "SUSPENDED": "suspended", "DELETED": "deleted", "SOFT_DELETED": "soft-delete",
            "SHELVED": "shelved", "SHELVED_OFFLOADED": "shelved_offloaded"}[status]
