"""The local cloud's machines: this host, or an inventory file describing pretend machines.

Without ``instances-file``, a node is a machine of the local cloud when its InternalIP is an
address of this host (the kernel lets us bind it: all of 127.0.0.0/8 on Linux, plus the host's
interface addresses). Such a machine is running, of type ``local``, in zone and region ``local``,
with provider id ``local://<node name>``; the cloud reports no addresses, so kubelet's stay. A node
without an InternalIP cannot be judged, which is an error (never "gone": that would delete it).

With ``instances-file`` (JSON, re-read on every call so it can be edited while ccm runs), only the
machines it lists exist::

    {"node-1": {"type": "local.large", "zone": "local-a", "region": "local",
                "state": "running", "addresses": [{"type": "InternalIP", "address": "127.0.1.1"}]}}

``state`` is ``running`` (default), ``stopped`` (the node gets the shutdown taint) or
``terminated`` (the Node is deleted, as when the entry is removed).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
from pathlib import Path
from typing import Any

from providers.instances import InstanceMetadata, InstanceNotFound, Instances, Node, NodeAddress

PROVIDER_ID_SCHEME = "local://"
INSTANCE_TYPE = "local"
ZONE = REGION = "local"
STATES = ("running", "stopped", "terminated")


def is_host_address(ip: str) -> bool:
    """True when ``ip`` is an address of this host (bindable); False when the kernel says it is not."""
    addr = ipaddress.ip_address(ip)
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.bind((ip, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


class LocalInstances(Instances):
    def __init__(self, instances_file: Path | None = None) -> None:
        self.instances_file = instances_file

    def _name(self, node: Node) -> str:
        if not node.provider_id:
            return node.name
        if not node.provider_id.startswith(PROVIDER_ID_SCHEME):
            raise ValueError(f"node {node.name}: provider id {node.provider_id!r} is not a local:// id")
        return node.provider_id[len(PROVIDER_ID_SCHEME):]

    def _inventory(self) -> dict[str, dict[str, Any]]:
        assert self.instances_file is not None
        try:
            data = json.loads(self.instances_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"local instances file {self.instances_file}: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise RuntimeError(f"local instances file {self.instances_file}: expected an object of objects")
        for name, entry in data.items():
            if entry.get("state", "running") not in STATES:
                raise RuntimeError(f"local instances file {self.instances_file}: {name}: state "
                                   f"{entry.get('state')!r} is not one of {', '.join(STATES)}")
        return data

    def _machine(self, node: Node) -> dict[str, Any] | None:
        """The node's machine as an inventory entry; None when the local cloud has none."""
        name = self._name(node)
        if self.instances_file is not None:
            return self._inventory().get(name)
        ip = node.address_of("InternalIP")
        if ip is None:
            raise RuntimeError(f"node {node.name}: no InternalIP to find its local machine by")
        return {} if is_host_address(ip) else None

    def instance_exists(self, node: Node) -> bool:
        machine = self._machine(node)
        return machine is not None and machine.get("state", "running") != "terminated"

    def instance_shutdown(self, node: Node) -> bool:
        machine = self._machine(node)
        return machine is not None and machine.get("state") == "stopped"

    def instance_metadata(self, node: Node) -> InstanceMetadata:
        machine = self._machine(node)
        if machine is None or machine.get("state") == "terminated":
            raise InstanceNotFound(f"node {node.name}: no machine in the local cloud")
        addresses = tuple(NodeAddress(str(a["type"]), str(a["address"])) for a in machine.get("addresses", ()))
        return InstanceMetadata(
            provider_id=PROVIDER_ID_SCHEME + self._name(node),
            instance_type=str(machine.get("type", INSTANCE_TYPE)),
            node_addresses=addresses,
            zone=str(machine.get("zone", ZONE)),
            region=str(machine.get("region", REGION)),
        )
