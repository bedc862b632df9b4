"""EC2 instances behind Nodes (cloud-provider-aws ``instances_v2.go``/``instances.go``), read-only.

One ``DescribeInstances`` per call, by instance id when the node has a providerID, else by the
node name as the instance's private DNS name (upstream's fallback). What the node controllers get:

* provider id ``aws:///<availability-zone>/<instance-id>``;
* exists: the id is known and not ``terminated`` (``InvalidInstanceID.NotFound`` or no match: False,
  which deletes the Node); shut down: state ``stopped`` (``stopping`` is not yet);
* metadata: the EC2 instance type, the placement zone, the configured region, the addresses in
  upstream's order (per in-use interface by device index: private IPv4s as InternalIP; then the
  public IPv4 as ExternalIP; the private DNS name as InternalDNS and Hostname; the public DNS name as
  ExternalDNS; with the ``ipv6`` family, the first IPv6 of each in-use interface as InternalIP), and
  the ``topology.k8s.aws/zone-id`` label from a cached ``DescribeAvailabilityZones``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from providers.aws.clients import Clients, error_code
from providers.instances import InstanceMetadata, InstanceNotFound, Instances, Node, NodeAddress

PROVIDER_ID_SCHEME = "aws://"
ZONE_ID_LABEL = "topology.k8s.aws/zone-id"
NOT_FOUND_CODES = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})
#: states an instance found by node name may be in (upstream getInstanceByNodeName)
_NAME_LOOKUP_STATES = ("pending", "running", "shutting-down", "stopping", "stopped")
_INSTANCE_ID = re.compile(r"^i-[^/]*$")
IP_FAMILIES = ("ipv4", "ipv6")


def parse_provider_id(provider_id: str) -> str:
    """The instance id in ``aws:///<zone>/<id>``, ``aws:////<id>`` or a bare ``i-...`` (upstream's forms).

    Raises ValueError for another scheme or a last segment that is not an instance id.
    """
    text = provider_id.strip()
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "aws":
            raise ValueError(f"provider id {provider_id!r}: scheme {scheme!r} is not aws")
    else:
        rest = text
    last = rest.strip("/").rsplit("/", 1)[-1]
    if not _INSTANCE_ID.match(last):
        raise ValueError(f"provider id {provider_id!r}: invalid format for AWS instance ({last!r} is not i-...)")
    return last


def provider_id_of(instance: Mapping[str, Any]) -> str:
    zone = instance.get("Placement", {}).get("AvailabilityZone", "")
    return f"{PROVIDER_ID_SCHEME}/{zone}/{instance['InstanceId']}"


def node_addresses(instance: Mapping[str, Any], families: Sequence[str] = ("ipv4",)) -> tuple[NodeAddress, ...]:
    """Upstream ``getInstanceNodeAddress``: one block per family, in the order described above."""
    enis = [e for e in instance.get("NetworkInterfaces", ()) if e.get("Status") == "in-use"]
    # primary interface first; an interface without an attachment sorts last
    enis.sort(key=lambda e: e.get("Attachment", {}).get("DeviceIndex", 1 << 30))
    out: list[NodeAddress] = []
    for family in families:
        if family == "ipv4":
            for eni in enis:
                out += [NodeAddress("InternalIP", ip["PrivateIpAddress"])
                        for ip in eni.get("PrivateIpAddresses", ()) if ip.get("PrivateIpAddress")]
            if instance.get("PublicIpAddress"):
                out.append(NodeAddress("ExternalIP", instance["PublicIpAddress"]))
            if instance.get("PrivateDnsName"):
                out += [NodeAddress("InternalDNS", instance["PrivateDnsName"]),
                        NodeAddress("Hostname", instance["PrivateDnsName"])]
            if instance.get("PublicDnsName"):
                out.append(NodeAddress("ExternalDNS", instance["PublicDnsName"]))
        elif family == "ipv6":
            for eni in enis:
                v6 = [a["Ipv6Address"] for a in eni.get("Ipv6Addresses", ()) if a.get("Ipv6Address")]
                if v6:
                    out.append(NodeAddress("InternalIP", v6[0]))
    return tuple(out)


class AwsInstances(Instances):
    def __init__(self, clients: Clients, ip_families: Sequence[str] = ("ipv4",)) -> None:
        unknown = [f for f in ip_families if f not in IP_FAMILIES]
        if unknown or not ip_families:
            raise ValueError(f"aws: node IP families {', '.join(ip_families) or '(none)'}: use ipv4 and/or ipv6")
        self.clients = clients
        self.ip_families = tuple(ip_families)
        self._zone_ids: dict[str, str] = {}
        self._zone_lock = threading.Lock()

    # ---- lookups ------------------------------------------------------------------------
    def _describe(self, **kwargs: Any) -> list[dict[str, Any]]:
        try:
            resp = self.clients.ec2.describe_instances(**kwargs)
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND_CODES:
                return []
            raise
        return [i for r in resp.get("Reservations", ()) for i in r.get("Instances", ())]

    def _instance(self, node: Node) -> dict[str, Any] | None:
        """The node's instance by provider id, else by private DNS name; None when EC2 has none."""
        if node.provider_id:
            found = self._describe(InstanceIds=[parse_provider_id(node.provider_id)])
        else:
            found = self._describe(Filters=[
                {"Name": "private-dns-name", "Values": [node.name]},
                {"Name": "instance-state-name", "Values": list(_NAME_LOOKUP_STATES)},
            ])
        if len(found) > 1:
            raise RuntimeError(f"node {node.name}: {len(found)} EC2 instances match, expected one")
        return found[0] if found else None

    def _zone_id(self, zone: str) -> str | None:
        with self._zone_lock:
            if zone in self._zone_ids:
                return self._zone_ids[zone]
        resp = self.clients.ec2.describe_availability_zones()
        ids = {z["ZoneName"]: z["ZoneId"] for z in resp.get("AvailabilityZones", ()) if z.get("ZoneId")}
        with self._zone_lock:
            self._zone_ids.update(ids)
            return self._zone_ids.get(zone)

    # ---- the interface ------------------------------------------------------------------
    def instance_exists(self, node: Node) -> bool:
        instance = self._instance(node)
        if instance is None:
            return False
        return str(instance.get("State", {}).get("Name", "")) not in ("", "terminated")

    def instance_shutdown(self, node: Node) -> bool:
        instance = self._instance(node)
        return instance is not None and instance.get("State", {}).get("Name") == "stopped"

    def instance_metadata(self, node: Node) -> InstanceMetadata:
        instance = self._instance(node)
        if instance is None:
            raise InstanceNotFound(f"node {node.name}: no EC2 instance for provider id {node.provider_id!r}"
                                   if node.provider_id else f"node {node.name}: no EC2 instance with that "
                                   "private DNS name")
        zone = str(instance.get("Placement", {}).get("AvailabilityZone", ""))
        labels: dict[str, str] = {}
        if zone and ZONE_ID_LABEL not in node.labels and (zone_id := self._zone_id(zone)):
            labels[ZONE_ID_LABEL] = zone_id
        return InstanceMetadata(
            provider_id=provider_id_of(instance),
            instance_type=str(instance.get("InstanceType", "")),
            node_addresses=node_addresses(instance, self.ip_families),
            zone=zone,
            region=self.clients.region,
            additional_labels=labels,
        )
