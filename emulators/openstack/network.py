"""Neutron v2.0: networks, subnets, ports, floating IPs, security groups and rules, tags, quotas.

Objects are kept in their API view (plain dicts, what a GET returns), per collection, in creation
order. The rules a client meets in a cloud:
- IPs come from a subnet's allocation pools (gateway and network/broadcast excluded); an asked-for
  address must lie in the subnet and be free (``IpAddressAlreadyAllocated``, 409); a full subnet
  answers ``IpAddressGenerationFailure`` (409);
- a floating IP comes from a ``router:external`` network; it can be associated only with a port
  whose subnet reaches that network through a router (``connect`` seeds one), only with one of the
  port's fixed IPs, and a fixed IP holds at most one floating IP per external network; deleting a
  port disassociates its floating IPs;
- security groups get Neutron's two default egress rules; a rule is unique
  (``SecurityGroupRuleExists``, 409), its CIDR must match its ethertype, ports need tcp/udp/sctp;
  a group used by a port cannot be deleted (``SecurityGroupInUse``, 409); a port created without
  groups gets the project's ``default`` group;
- networks and subnets with ports cannot be deleted (``NetworkInUse``/``SubnetInUse``, 409);
- quotas per project and collection (-1: unlimited, the default here) answer ``OverQuota`` (409);
- every change bumps ``revision_number`` and ``updated_at``.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass, field
from typing import Any

from emulators.openstack import schema as s
from emulators.openstack.errors import (
    ApiError,
    BadRequest,
    Conflict,
    neutron_bad_request,
    neutron_not_found,
    neutron_over_quota,
)
from emulators.openstack.ids import new_uuid
from emulators.openstack.timefmt import now_seconds

Json = dict[str, Any]

#: collection -> (singular body key, quota resource name)
COLLECTIONS: dict[str, tuple[str, str]] = {
    "networks": ("network", "network"),
    "subnets": ("subnet", "subnet"),
    "ports": ("port", "port"),
    "floatingips": ("floatingip", "floatingip"),
    "security_groups": ("security_group", "security_group"),
    "security_group_rules": ("security_group_rule", "security_group_rule"),
}
QUOTA_KEYS = ("network", "subnet", "port", "floatingip", "security_group", "security_group_rule", "router")

_COMMON = (
    s.Attr("name", s.string(255), update=True, default=""),
    s.Attr("description", s.string(255), update=True, default=""),
    s.Attr("project_id", s.string(255)),
    s.Attr("tenant_id", s.string(255)),
    s.Attr("tags", s.tags),
)

NETWORK = s.Schema("network", (
    *_COMMON,
    s.Attr("admin_state_up", s.boolean, update=True, default=True),
    s.Attr("shared", s.boolean, update=True, default=False),
    s.Attr("router:external", s.boolean, update=True, default=False),
    s.Attr("mtu", s.integer(68, 9216), update=True, default=1500),
    s.Attr("port_security_enabled", s.boolean, update=True, default=True),
    s.Attr("availability_zone_hints", s.list_of(s.string(255)), default=list),
    s.Attr("dns_domain", s.string(255), update=True),
    s.Attr("qos_policy_id", s.uuid_str, update=True),
), service="neutron")

_POOL = s.obj(s.Attr("start", s.ip_address, required=True), s.Attr("end", s.ip_address, required=True),
              name="allocation_pool")

SUBNET = s.Schema("subnet", (
    *_COMMON,
    s.Attr("network_id", s.uuid_str, required=True),
    s.Attr("cidr", s.cidr, required=True),
    s.Attr("ip_version", s.integer(4, 6), required=True),
    s.Attr("gateway_ip", s.ip_address, update=True),
    s.Attr("allocation_pools", s.list_of(_POOL), update=True),
    s.Attr("enable_dhcp", s.boolean, update=True, default=True),
    s.Attr("dns_nameservers", s.list_of(s.ip_address), update=True, default=list),
    s.Attr("host_routes", s.list_of(s.anything), update=True, default=list),
    s.Attr("ipv6_ra_mode", s.enum("slaac", "dhcpv6-stateful", "dhcpv6-stateless")),
    s.Attr("ipv6_address_mode", s.enum("slaac", "dhcpv6-stateful", "dhcpv6-stateless")),
    s.Attr("subnetpool_id", s.uuid_str),
    s.Attr("service_types", s.list_of(s.string(255)), update=True, default=list),
    s.Attr("segment_id", s.uuid_str, update=True),
), service="neutron")

_FIXED_IP = s.obj(s.Attr("subnet_id", s.uuid_str), s.Attr("ip_address", s.ip_address), name="fixed_ip")
_PAIR = s.obj(s.Attr("ip_address", s.string(64), required=True), s.Attr("mac_address", s.string(32)),
              name="allowed_address_pair")

PORT = s.Schema("port", (
    *_COMMON,
    s.Attr("network_id", s.uuid_str, required=True),
    s.Attr("admin_state_up", s.boolean, update=True, default=True),
    s.Attr("fixed_ips", s.list_of(_FIXED_IP), update=True),
    s.Attr("mac_address", s.pattern(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", "a MAC address"), update=True),
    s.Attr("device_id", s.string(255), update=True, default=""),
    s.Attr("device_owner", s.string(255), update=True, default=""),
    s.Attr("security_groups", s.list_of(s.uuid_str), update=True),
    s.Attr("allowed_address_pairs", s.list_of(_PAIR), update=True, default=list),
    s.Attr("port_security_enabled", s.boolean, update=True),
    s.Attr("dns_name", s.string(255), update=True),
    s.Attr("qos_policy_id", s.uuid_str, update=True),
), service="neutron")

FLOATINGIP = s.Schema("floatingip", (
    s.Attr("description", s.string(255), update=True, default=""),
    s.Attr("project_id", s.string(255)),
    s.Attr("tenant_id", s.string(255)),
    s.Attr("tags", s.tags),
    s.Attr("floating_network_id", s.uuid_str, required=True),
    s.Attr("floating_ip_address", s.ip_address),
    s.Attr("subnet_id", s.uuid_str),
    s.Attr("port_id", s.uuid_str, update=True),
    s.Attr("fixed_ip_address", s.ip_address, update=True),
    s.Attr("qos_policy_id", s.uuid_str, update=True),
    s.Attr("dns_domain", s.string(255)),
    s.Attr("dns_name", s.string(255)),
), service="neutron")

SECURITY_GROUP = s.Schema("security_group", (
    *_COMMON,
    s.Attr("stateful", s.boolean, update=True, default=True),
), service="neutron")

SECURITY_GROUP_RULE = s.Schema("security_group_rule", (
    s.Attr("description", s.string(255), default=""),
    s.Attr("project_id", s.string(255)),
    s.Attr("tenant_id", s.string(255)),
    s.Attr("security_group_id", s.uuid_str, required=True),
    s.Attr("direction", s.enum("ingress", "egress"), required=True),
    s.Attr("ethertype", s.enum("IPv4", "IPv6"), default="IPv4"),
    s.Attr("protocol", s.string(40)),
    s.Attr("port_range_min", s.integer(0, 65535)),
    s.Attr("port_range_max", s.integer(0, 65535)),
    s.Attr("remote_ip_prefix", s.cidr),
    s.Attr("remote_group_id", s.uuid_str),
    s.Attr("remote_address_group_id", s.uuid_str),
), service="neutron")

SCHEMAS = {"networks": NETWORK, "subnets": SUBNET, "ports": PORT, "floatingips": FLOATINGIP,
           "security_groups": SECURITY_GROUP, "security_group_rules": SECURITY_GROUP_RULE}

_PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "sctp": 132, "ipv6-icmp": 58, "icmpv6": 58, "gre": 47,
                     "esp": 50, "ah": 51, "vrrp": 112}
_PORTED = {"tcp", "udp", "sctp", "6", "17", "132"}


@dataclass
class Network:
    """Neutron's state for every project; ``connect`` seeds router reachability."""

    collections: dict[str, dict[str, Json]] = field(
        default_factory=lambda: {name: {} for name in COLLECTIONS})
    used_ips: dict[str, set[str]] = field(default_factory=dict)  #: subnet id -> allocated addresses
    routes: set[tuple[str, str]] = field(default_factory=set)  #: (external network id, subnet id) via a router
    router_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)  #: project -> resource -> limit
    default_quota: int = -1
    mac_counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- plumbing -----------------------------------------------------------------------------------

    def create(self, collection: str, project: str, values: Json) -> Json:
        """Check ``values`` as a POST body's object would be checked, then create it."""
        parsed = SCHEMAS[collection].parse(values, "create")
        return {"networks": self.create_network, "subnets": self.create_subnet, "ports": self.create_port,
                "floatingips": self.create_floatingip, "security_groups": self.create_security_group,
                "security_group_rules": self.create_rule}[collection](project, parsed)

    def table(self, collection: str) -> dict[str, Json]:
        return self.collections[collection]

    def visible(self, collection: str, row: Json, project: str) -> bool:
        """A project sees its own objects, and shared or external networks with their subnets."""
        if collection == "subnets" and not _visible(row, project):
            network = self.collections["networks"].get(row["network_id"])
            return network is not None and _visible(network, project)
        return _visible(row, project)

    def find(self, collection: str, ident: str, project: str | None = None) -> Json:
        row = self.collections[collection].get(ident)
        if row is None or (project is not None and not self.visible(collection, row, project)):
            raise neutron_not_found(COLLECTIONS[collection][0], ident)
        return row

    def view(self, row: Json) -> Json:
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        if "security_group_rules" in row:
            out["security_group_rules"] = [dict(self.collections["security_group_rules"][r])
                                           for r in row["security_group_rules"]]
        return out

    def listing(self, collection: str, project: str) -> list[Json]:
        return [self.view(r) for r in self.collections[collection].values() if self.visible(collection, r, project)]

    def quota_for(self, project: str) -> dict[str, int]:
        limits = self.quotas.get(project, {})
        return {k: limits.get(k, self.default_quota) for k in QUOTA_KEYS}

    def _check_quota(self, collection: str, project: str, count: int = 1) -> None:
        resource = COLLECTIONS[collection][1]
        limit = self.quota_for(project)[resource]
        if limit < 0:
            return
        used = sum(1 for r in self.collections[collection].values() if r.get("project_id") == project)
        if used + count > limit:
            raise neutron_over_quota(resource)

    def _stamp(self, row: Json, project: str, values: Json) -> Json:
        now = now_seconds()
        owner = values.pop("project_id", None) or values.pop("tenant_id", None) or project
        values.pop("tenant_id", None)
        row.update({"id": row.get("id") or new_uuid(), "project_id": owner, "tenant_id": owner,
                    "created_at": now, "updated_at": now, "revision_number": 0})
        row.setdefault("tags", [])
        row.update(values)
        row["tags"] = list(values.get("tags") or row["tags"])
        return row

    @staticmethod
    def touch(row: Json) -> None:
        row["updated_at"] = now_seconds()
        row["revision_number"] = int(row.get("revision_number", 0)) + 1

    # -- networks and subnets -----------------------------------------------------------------------

    def create_network(self, project: str, values: Json) -> Json:
        self._check_quota("networks", project)
        row = self._stamp({"status": "ACTIVE", "subnets": [], "availability_zones": ["nova"],
                           "ipv4_address_scope": None, "ipv6_address_scope": None, "is_default": False,
                           "l2_adjacency": True, "qos_policy_id": None, "dns_domain": ""}, project, values)
        self.collections["networks"][row["id"]] = row
        return row

    def create_subnet(self, project: str, values: Json) -> Json:
        network = self.find("networks", values["network_id"], project if not _shared(self, values) else None)
        net = ipaddress.ip_network(values["cidr"], strict=False)
        if net.version != values["ip_version"]:
            raise BadRequest(f"Invalid input for operation: ip_version {values['ip_version']} does not match "
                             f"the CIDR {values['cidr']}.", neutron_type="InvalidInput")
        for other in self.collections["subnets"].values():
            if other["network_id"] == network["id"] and \
                    ipaddress.ip_network(other["cidr"]).overlaps(net):
                raise BadRequest(f"Invalid input for operation: Requested subnet with cidr: {net} for network: "
                                 f"{network['id']} overlaps with another subnet.", neutron_type="InvalidInput")
        self._check_quota("subnets", project)
        hosts = net.hosts() if net.num_addresses > 2 else iter(net)
        first = next(iter(hosts), net.network_address)
        gateway = values.pop("gateway_ip", str(first))
        if not values.get("allocation_pools"):
            lo = int(net.network_address) + (1 if net.num_addresses > 2 else 0)
            hi = int(net.broadcast_address) - (1 if net.num_addresses > 2 and net.version == 4 else 0)
            start = lo + 1 if gateway is not None and int(ipaddress.ip_address(gateway)) == lo else lo
            values["allocation_pools"] = [{"start": str(ipaddress.ip_address(start)),
                                           "end": str(ipaddress.ip_address(hi))}]
        row = self._stamp({"gateway_ip": gateway, "ipv6_ra_mode": None, "ipv6_address_mode": None,
                           "subnetpool_id": None, "segment_id": None}, project, values)
        row["cidr"] = str(net)
        self.collections["subnets"][row["id"]] = row
        self.used_ips[row["id"]] = {gateway} if gateway else set()
        network["subnets"].append(row["id"])
        self.touch(network)
        return row

    def delete_network(self, project: str, ident: str) -> None:
        network = self.find("networks", ident, project)
        if any(p["network_id"] == ident and p.get("device_owner") != "network:dhcp"
               for p in self.collections["ports"].values()):
            raise Conflict(f"Unable to complete operation on network {ident}. There are one or more ports "
                           f"still in use on the network.", neutron_type="NetworkInUse")
        for subnet_id in list(network["subnets"]):
            self.collections["subnets"].pop(subnet_id, None)
            self.used_ips.pop(subnet_id, None)
        del self.collections["networks"][ident]

    def delete_subnet(self, project: str, ident: str) -> None:
        subnet = self.find("subnets", ident, project)
        if any(ip.get("subnet_id") == ident for p in self.collections["ports"].values() for ip in p["fixed_ips"]):
            raise Conflict(f"Unable to complete operation on subnet {ident}: One or more ports have an IP "
                           f"allocation from this subnet.", neutron_type="SubnetInUse")
        network = self.collections["networks"].get(subnet["network_id"])
        if network is not None:
            network["subnets"].remove(ident)
        del self.collections["subnets"][ident]
        self.used_ips.pop(ident, None)

    def connect(self, external_network_id: str, subnet_id: str) -> str:
        """Seed a router between a subnet and an external network (floating IPs then reach the subnet)."""
        key = (external_network_id, subnet_id)
        self.routes.add(key)
        return self.router_ids.setdefault(key, new_uuid())

    # -- IP allocation ------------------------------------------------------------------------------

    def _allocate(self, subnet: Json, address: str | None) -> str:
        used = self.used_ips.setdefault(subnet["id"], set())
        net = ipaddress.ip_network(subnet["cidr"])
        if address is not None:
            if ipaddress.ip_address(address) not in net:
                raise BadRequest(f"IP address {address} is not a valid IP for the specified subnet.",
                                 neutron_type="InvalidIpForSubnet")
            if address in used:
                raise Conflict(f"IP address {address} already allocated in subnet {subnet['id']}",
                               neutron_type="IpAddressAlreadyAllocated")
            used.add(address)
            return address
        for pool in subnet["allocation_pools"]:
            lo, hi = int(ipaddress.ip_address(pool["start"])), int(ipaddress.ip_address(pool["end"]))
            for n in range(lo, hi + 1):
                candidate = str(ipaddress.ip_address(n))
                if candidate not in used:
                    used.add(candidate)
                    return candidate
        raise Conflict(f"No more IP addresses available on network {subnet['network_id']}.",
                       neutron_type="IpAddressGenerationFailure")

    def _release(self, fixed_ips: list[Json]) -> None:
        for ip in fixed_ips:
            self.used_ips.get(ip.get("subnet_id", ""), set()).discard(ip.get("ip_address"))

    def _fixed_ips(self, network: Json, asked: list[Json] | None, project: str) -> list[Json]:
        if asked is None:
            subnets = [self.collections["subnets"][sid] for sid in network["subnets"]]
            v4 = [sn for sn in subnets if sn["ip_version"] == 4] or subnets
            return [{"subnet_id": v4[0]["id"], "ip_address": self._allocate(v4[0], None)}] if v4 else []
        out: list[Json] = []
        try:
            for item in asked:
                subnet_id = item.get("subnet_id")
                if subnet_id is None and "ip_address" in item:
                    addr = ipaddress.ip_address(item["ip_address"])
                    subnet_id = next((sid for sid in network["subnets"]
                                      if addr in ipaddress.ip_network(self.collections["subnets"][sid]["cidr"])),
                                     None)
                    if subnet_id is None:
                        raise BadRequest(f"IP address {addr} is not a valid IP for any subnet on network "
                                         f"{network['id']}.", neutron_type="InvalidIpForNetwork")
                subnet = self.find("subnets", str(subnet_id))
                if subnet["network_id"] != network["id"]:
                    raise BadRequest(f"Invalid input for operation: Failed to create port on network "
                                     f"{network['id']}, because fixed_ips included invalid subnet {subnet_id}.",
                                     neutron_type="InvalidInput")
                out.append({"subnet_id": subnet["id"], "ip_address": self._allocate(subnet, item.get("ip_address"))})
        except ApiError:
            self._release(out)
            raise
        return out

    # -- ports ----------------------------------------------------------------------------------------

    def default_security_group(self, project: str) -> Json:
        for row in self.collections["security_groups"].values():
            if row["name"] == "default" and row["project_id"] == project:
                return row
        values = SECURITY_GROUP.parse({"name": "default", "description": "Default security group"}, "create")
        return self.create_security_group(project, values, quota=False)

    def create_port(self, project: str, values: Json) -> Json:
        network = self.find("networks", values["network_id"])
        if not _visible(network, project) and not network.get("shared"):
            raise neutron_not_found("network", values["network_id"])
        self._check_quota("ports", project)
        groups = values.pop("security_groups", None)
        if groups is None:
            groups = [] if network.get("port_security_enabled") is False else \
                [self.default_security_group(project)["id"]]
        for gid in groups:
            self.find("security_groups", gid, project)
        fixed = self._fixed_ips(network, values.pop("fixed_ips", None), project)
        mac = values.pop("mac_address", None) or _mac(next(self.mac_counter))
        row = self._stamp({"status": "ACTIVE" if values.get("device_id") else "DOWN", "mac_address": mac,
                           "fixed_ips": fixed, "security_groups": groups,
                           "port_security_enabled": network.get("port_security_enabled", True),
                           "binding:vnic_type": "normal", "dns_name": "", "qos_policy_id": None,
                           "extra_dhcp_opts": []}, project, values)
        self.collections["ports"][row["id"]] = row
        return row

    def update_port(self, project: str, ident: str, values: Json) -> Json:
        row = self.find("ports", ident, project)
        if "fixed_ips" in values:
            network = self.collections["networks"][row["network_id"]]
            old = row["fixed_ips"]
            self._release(old)
            try:
                row["fixed_ips"] = self._fixed_ips(network, values.pop("fixed_ips"), project)
            except ApiError:
                for ip in old:
                    self.used_ips.setdefault(ip["subnet_id"], set()).add(ip["ip_address"])
                raise
        for gid in values.get("security_groups") or []:
            self.find("security_groups", gid, project)
        row.update(values)
        if "device_id" in values:
            row["status"] = "ACTIVE" if values["device_id"] else "DOWN"
        self.touch(row)
        return row

    def delete_port(self, project: str, ident: str) -> None:
        row = self.find("ports", ident, project)
        for fip in self.collections["floatingips"].values():
            if fip.get("port_id") == ident:
                fip.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN", port_details=None)
                self.touch(fip)
        self._release(row["fixed_ips"])
        del self.collections["ports"][ident]

    # -- floating IPs ---------------------------------------------------------------------------------

    def create_floatingip(self, project: str, values: Json) -> Json:
        ext = self.find("networks", values["floating_network_id"])
        if not ext.get("router:external"):
            raise neutron_bad_request("floatingip", f"Network {ext['id']} is not a valid external network")
        self._check_quota("floatingips", project)
        subnet_id = values.pop("subnet_id", None)
        address = values.pop("floating_ip_address", None)
        if subnet_id is not None:
            subnet = self.find("subnets", subnet_id)
            if subnet["network_id"] != ext["id"]:
                raise neutron_bad_request("floatingip", f"Subnet {subnet_id} is not on network {ext['id']}")
            candidates = [subnet]
        else:
            candidates = [self.collections["subnets"][sid] for sid in ext["subnets"]
                          if self.collections["subnets"][sid]["ip_version"] == 4]
        if address is not None:
            candidates = [sn for sn in candidates
                          if ipaddress.ip_address(address) in ipaddress.ip_network(sn["cidr"])]
            if not candidates:
                raise neutron_bad_request("floatingip", f"IP address {address} is not a valid IP for the "
                                                        f"external network {ext['id']}")
        if not candidates:
            raise neutron_bad_request("floatingip", f"Network {ext['id']} has no IPv4 subnet")
        allocated, last_error = None, None
        for subnet in candidates:
            try:
                allocated = (subnet, self._allocate(subnet, address))
                break
            except Conflict as exc:
                last_error = exc
        if allocated is None:
            assert last_error is not None
            raise last_error
        port_id = values.pop("port_id", None)
        fixed = values.pop("fixed_ip_address", None)
        row = self._stamp({"floating_ip_address": allocated[1], "floating_network_id": ext["id"],
                           "router_id": None, "port_id": None, "fixed_ip_address": None, "status": "DOWN",
                           "port_details": None, "port_forwardings": [], "qos_policy_id": None,
                           "dns_domain": "", "dns_name": "", "_subnet_id": allocated[0]["id"]}, project, values)
        try:
            if port_id is not None:
                self._associate(row, port_id, fixed, project)
        except ApiError:
            self._release([{"subnet_id": allocated[0]["id"], "ip_address": allocated[1]}])
            raise
        self.collections["floatingips"][row["id"]] = row
        return row

    def _associate(self, fip: Json, port_id: str | None, fixed: str | None, project: str) -> None:
        if port_id is None:
            fip.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN", port_details=None)
            return
        port = self.find("ports", port_id, project)
        v4 = [ip for ip in port["fixed_ips"] if ipaddress.ip_address(ip["ip_address"]).version == 4]
        if fixed is None:
            if not v4:
                raise neutron_bad_request("floatingip", f"Port {port_id} does not have any IPv4 fixed IP")
            chosen = v4[0]
        else:
            chosen = next((ip for ip in port["fixed_ips"] if ip["ip_address"] == fixed), None)
            if chosen is None:
                raise neutron_bad_request("floatingip", f"Port {port_id} does not have fixed ip {fixed}")
        ext = fip["floating_network_id"]
        if (ext, chosen["subnet_id"]) not in self.routes:
            raise ApiError(f"External network {ext} is not reachable from subnet {chosen['subnet_id']}.  "
                           f"Therefore, cannot associate Port {port_id} with a Floating IP.",
                           status=404, neutron_type="ExternalGatewayForFloatingIPNotFound")
        for other in self.collections["floatingips"].values():
            if other["id"] != fip.get("id") and other.get("port_id") == port_id and \
                    other.get("fixed_ip_address") == chosen["ip_address"] and other["floating_network_id"] == ext:
                raise Conflict(f"Cannot associate floating IP {fip['floating_ip_address']} ({fip.get('id')}) with "
                               f"port {port_id} using fixed IP {chosen['ip_address']}, as that fixed IP already "
                               f"has a floating IP on external network {ext}.",
                               neutron_type="FloatingIPPortAlreadyAssociated")
        fip.update(port_id=port_id, fixed_ip_address=chosen["ip_address"], status="ACTIVE",
                   router_id=self.router_ids[(ext, chosen["subnet_id"])],
                   port_details={k: port.get(k) for k in ("name", "network_id", "mac_address", "admin_state_up",
                                                          "status", "device_id", "device_owner")})

    def update_floatingip(self, project: str, ident: str, values: Json) -> Json:
        row = self.find("floatingips", ident, project)
        if "port_id" in values:
            self._associate(row, values.pop("port_id"), values.pop("fixed_ip_address", None), project)
        elif "fixed_ip_address" in values:
            self._associate(row, row.get("port_id"), values.pop("fixed_ip_address"), project)
        row.update(values)
        self.touch(row)
        return row

    def delete_floatingip(self, project: str, ident: str) -> None:
        row = self.find("floatingips", ident, project)
        self._release([{"subnet_id": row["_subnet_id"], "ip_address": row["floating_ip_address"]}])
        del self.collections["floatingips"][ident]

    # -- security groups --------------------------------------------------------------------------------

    def create_security_group(self, project: str, values: Json, *, quota: bool = True) -> Json:
        if quota:
            self._check_quota("security_groups", project)
        row = self._stamp({"security_group_rules": [], "stateful": True}, project, values)
        self.collections["security_groups"][row["id"]] = row
        for ethertype in ("IPv4", "IPv6"):
            rule = SECURITY_GROUP_RULE.parse({"security_group_id": row["id"], "direction": "egress",
                                              "ethertype": ethertype}, "create")
            self.create_rule(row["project_id"], rule, quota=False)
        return row

    def delete_security_group(self, project: str, ident: str) -> None:
        row = self.find("security_groups", ident, project)
        if any(ident in p.get("security_groups", ()) for p in self.collections["ports"].values()):
            raise Conflict(f"Security Group {ident} in use.", neutron_type="SecurityGroupInUse")
        for rule_id in row["security_group_rules"]:
            self.collections["security_group_rules"].pop(rule_id, None)
        del self.collections["security_groups"][ident]

    def create_rule(self, project: str, values: Json, *, quota: bool = True) -> Json:
        group = self.find("security_groups", values["security_group_id"], project)
        protocol = values.get("protocol")
        if protocol is not None:
            protocol = str(protocol).lower()
            if protocol not in _PROTOCOL_NUMBERS and not (protocol.isdigit() and 0 <= int(protocol) <= 255):
                raise BadRequest(f"Security group rule protocol {protocol} not supported. Only protocol values "
                                 f"{sorted(_PROTOCOL_NUMBERS)} and integer representations [0 to 255] are "
                                 f"supported.", neutron_type="SecurityGroupRuleInvalidProtocol")
            values["protocol"] = protocol
        lo, hi = values.get("port_range_min"), values.get("port_range_max")
        if (lo is not None or hi is not None) and protocol not in _PORTED and protocol not in ("icmp", "1"):
            raise BadRequest("Must also specify protocol if port range is given.",
                             neutron_type="SecurityGroupProtocolRequiredWithPorts")
        if protocol in _PORTED and lo is not None and hi is not None and lo > hi:
            raise BadRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                             neutron_type="SecurityGroupInvalidPortRange")
        prefix = values.get("remote_ip_prefix")
        if prefix is not None:
            version = ipaddress.ip_network(prefix, strict=False).version
            if (version == 4) != (values.get("ethertype", "IPv4") == "IPv4"):
                raise BadRequest(f"Conflicting value ethertype {values.get('ethertype', 'IPv4')} for CIDR {prefix}",
                                 neutron_type="SecurityGroupRuleParameterConflict")
        if prefix is not None and values.get("remote_group_id") is not None:
            raise BadRequest("Only remote_ip_prefix or remote_group_id may be provided.",
                             neutron_type="SecurityGroupRemoteGroupAndRemoteIpPrefix")
        if quota:
            self._check_quota("security_group_rules", project)
        key = _rule_key(values)
        for rule_id in group["security_group_rules"]:
            existing = self.collections["security_group_rules"][rule_id]
            if _rule_key(existing) == key:
                raise Conflict(f"Security group rule already exists. Rule id is {rule_id}.",
                               neutron_type="SecurityGroupRuleExists")
        row = self._stamp({"protocol": None, "port_range_min": None, "port_range_max": None,
                           "remote_ip_prefix": None, "remote_group_id": None, "remote_address_group_id": None,
                           "ethertype": "IPv4", "belongs_to_default_sg": group["name"] == "default"},
                          group["project_id"], values)
        row.pop("tags", None)
        row.pop("revision_number", None)
        row["revision_number"] = 0
        self.collections["security_group_rules"][row["id"]] = row
        group["security_group_rules"].append(row["id"])
        self.touch(group)
        return row

    def delete_rule(self, project: str, ident: str) -> None:
        row = self.find("security_group_rules", ident, project)
        group = self.collections["security_groups"].get(row["security_group_id"])
        if group is not None:
            group["security_group_rules"].remove(ident)
            self.touch(group)
        del self.collections["security_group_rules"][ident]

    # -- tags ------------------------------------------------------------------------------------------

    def set_tags(self, project: str, collection: str, ident: str, tag_list: list[str]) -> list[str]:
        row = self.find(collection, ident, project)
        row["tags"] = list(dict.fromkeys(tag_list))
        self.touch(row)
        return list(row["tags"])

    def add_tag(self, project: str, collection: str, ident: str, tag: str) -> None:
        row = self.find(collection, ident, project)
        if tag not in row["tags"]:
            row["tags"].append(tag)
            self.touch(row)

    def remove_tag(self, project: str, collection: str, ident: str, tag: str) -> None:
        row = self.find(collection, ident, project)
        if tag not in row["tags"]:
            raise ApiError(f"Tag {tag} could not be found for {COLLECTIONS[collection][0]} {ident}.",
                           status=404, neutron_type="TagNotFound")
        row["tags"].remove(tag)
        self.touch(row)


def _visible(row: Json, project: str) -> bool:
    return row.get("project_id") == project or bool(row.get("shared")) or bool(row.get("router:external"))


def _shared(net: Network, values: Json) -> bool:
    row = net.collections["networks"].get(values.get("network_id", ""))
    return bool(row and (row.get("shared") or row.get("router:external")))


def _mac(n: int) -> str:
    return "fa:16:3e:" + ":".join(f"{(n >> shift) & 0xFF:02x}" for shift in (16, 8, 0))


def _rule_key(rule: Json) -> tuple[Any, ...]:
    prefix = rule.get("remote_ip_prefix")
    if prefix in ("0.0.0.0/0", "::/0"):
        prefix = None
    return (rule.get("direction"), rule.get("ethertype", "IPv4"), rule.get("protocol"), rule.get("port_range_min"),
            rule.get("port_range_max"), prefix, rule.get("remote_group_id"), rule.get("remote_address_group_id"))
