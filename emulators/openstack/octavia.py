"""Octavia v2: load balancers, listeners, pools, members, health monitors, quotas, provisioning.

Octavia is asynchronous, and this is what a client has to get right:
- every accepted mutation puts the load balancer (and the object) in ``PENDING_CREATE``/
  ``PENDING_UPDATE``/``PENDING_DELETE``; while the load balancer is pending, any further mutation
  of it or of anything under it is refused with 409 (``ImmutableObject``, or ``LBPendingStateError``
  for a delete). The job completes on a later read (``Settings.settle_reads`` reads that render
  the load balancer's tree, and at least ``settle_seconds``), when pending objects become
  ``ACTIVE``, or ``ERROR`` when the fault injection says so, and deleted ones disappear;
- a load balancer in ``ERROR`` can only be deleted (or failed over by an admin);
- the VIP port is made in Neutron at create time (``octavia-lb-<id>``, owner ``Octavia``) and
  deleted with the load balancer unless the client brought its own (``vip_port_id``);
- a load balancer with listeners or pools is deleted only with ``cascade=true``; a pool goes with
  its members and health monitor;
- the batch member update replaces a pool's members in one call (matched on address and port);
- quotas per project (-1: unlimited, the default), 403 when met;
- providers: ``amphora`` (the default; ``octavia`` is its alias) and ``ovn``, which refuses what
  the OVN provider does not do (501): HTTP-type listeners, PROXY pools, algorithms other than
  ``SOURCE_IP_PORT``, ``allowed_cidrs``, HTTP monitors, member monitor options.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from emulators.openstack import octavia_schema as sch
from emulators.openstack.errors import (
    BadRequest,
    Conflict,
    immutable,
    octavia_not_found,
    octavia_quota,
    octavia_validation,
    unsupported_option,
)
from emulators.openstack.ids import new_uuid
from emulators.openstack.network import Network
from emulators.openstack.timefmt import now_octavia

Json = dict[str, Any]

PROVIDERS = {"amphora": "The Octavia Amphora driver.", "octavia": "Deprecated alias of the Octavia Amphora driver.",
             "ovn": "Octavia OVN driver."}
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")
MUTABLE = ("ACTIVE",)
DELETABLE = ("ACTIVE", "ERROR")
#: kind -> (the name Octavia uses in messages, quota key)
KINDS = {
    "loadbalancers": ("Load Balancer", "load_balancer"),
    "listeners": ("Listener", "listener"),
    "pools": ("Pool", "pool"),
    "members": ("Member", "member"),
    "healthmonitors": ("Health Monitor", "health_monitor"),
}
QUOTA_KEYS = ("load_balancer", "listener", "pool", "health_monitor", "member", "l7policy", "l7rule")


@dataclass
class Settings:
    """How long a job stays pending: ``settle_reads`` reads of its tree and ``settle_seconds``."""

    settle_reads: int = 1
    settle_seconds: float = 0.0
    hold: bool = False  #: nothing completes while set (tests of the 409-while-pending path)


@dataclass
class Octavia:
    network: Network
    settings: Settings = field(default_factory=Settings)
    objects: dict[str, dict[str, Json]] = field(default_factory=lambda: {k: {} for k in KINDS})
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)
    default_quota: int = -1
    flavors: dict[str, Json] = field(default_factory=dict)
    availability_zones: dict[str, Json] = field(default_factory=dict)
    tls_refs: set[str] = field(default_factory=set)
    error_next: int = 0  #: the next n jobs end in ERROR (fault injection)

    # ------------------------------------------------------------------ lookups

    def get(self, kind: str, ident: str, project: str | None) -> Json:
        row = self.objects[kind].get(ident)
        if row is None or (project is not None and row["project_id"] != project):
            raise octavia_not_found(KINDS[kind][0], ident)
        return row

    def lb_of(self, row: Json) -> Json:
        return self.objects["loadbalancers"][row["_lb"]] if "_lb" in row else row

    def tree(self, lb_id: str) -> Iterator[tuple[str, Json]]:
        for kind in ("listeners", "pools", "members", "healthmonitors"):
            for row in list(self.objects[kind].values()):
                if row["_lb"] == lb_id:
                    yield kind, row

    # ------------------------------------------------------------------ provisioning

    def _begin(self, lb: Json, status: str = "PENDING_UPDATE") -> None:
        """Lock ``lb`` for a job (409 when it is pending, or not ``ACTIVE`` for an update)."""
        allowed = DELETABLE if status == "PENDING_DELETE" else MUTABLE
        if lb["provisioning_status"] not in allowed:
            if status == "PENDING_DELETE":
                raise Conflict(f"Invalid state {lb['provisioning_status']} of loadbalancer resource {lb['id']}")
            raise immutable("Load Balancer", lb["id"])
        self._arm(lb, status)

    def _arm(self, lb: Json, status: str) -> None:
        """Start a job on ``lb``: it is ``status`` until the job completes (see ``settle_due``)."""
        lb["provisioning_status"] = status
        lb["updated_at"] = now_octavia()
        error = self.error_next > 0
        if error:
            self.error_next -= 1
        lb["_settle"] = {"reads": self.settings.settle_reads, "since": time.monotonic(), "error": error}

    @staticmethod
    def _child_mutable(kind: str, row: Json, deleting: bool = False) -> None:
        if row["provisioning_status"] not in (DELETABLE if deleting else MUTABLE):
            raise immutable(KINDS[kind][0], row["id"])

    def observe(self, lb_ids: set[str]) -> None:
        """A read rendered these load balancers' trees: count it toward their pending jobs."""
        for lb_id in lb_ids:
            lb = self.objects["loadbalancers"].get(lb_id)
            if lb is not None and "_settle" in lb:
                lb["_settle"]["reads"] -= 1
        self.settle_due()

    def settle_due(self) -> None:
        if self.settings.hold:
            return
        now = time.monotonic()
        for lb in list(self.objects["loadbalancers"].values()):
            job = lb.get("_settle")
            if job and job["reads"] <= 0 and now - job["since"] >= self.settings.settle_seconds:
                self._complete(lb)

    def settle_all(self) -> None:
        """Complete every pending job now (leak checks, ``ccm demo`` teardown)."""
        for lb in list(self.objects["loadbalancers"].values()):
            if "_settle" in lb:
                self._complete(lb)

    def _complete(self, lb: Json) -> None:
        job = lb.pop("_settle")
        final = "ERROR" if job["error"] else "ACTIVE"
        if lb["provisioning_status"] == "PENDING_DELETE":
            self._remove_lb(lb)
            return
        for kind, row in self.tree(lb["id"]):
            if row["provisioning_status"] == "PENDING_DELETE":
                self._remove(kind, row)
            elif row["provisioning_status"] in PENDING:
                row["provisioning_status"] = final
        lb["provisioning_status"] = final

    def _remove(self, kind: str, row: Json) -> None:
        self.objects[kind].pop(row["id"], None)
        if kind == "listeners":
            for pool in self.objects["pools"].values():
                if pool.get("_listener") == row["id"]:
                    pool["_listener"] = None
        elif kind == "pools":
            for listener in self.objects["listeners"].values():
                if listener.get("default_pool_id") == row["id"]:
                    listener["default_pool_id"] = None
            for member in [m for m in self.objects["members"].values() if m["_pool"] == row["id"]]:
                self.objects["members"].pop(member["id"], None)
            if row.get("_hm"):
                self.objects["healthmonitors"].pop(row["_hm"], None)
        elif kind == "healthmonitors":
            owner = self.objects["pools"].get(row["_pool"])
            if owner is not None:
                owner["_hm"] = None

    def _remove_lb(self, lb: Json) -> None:
        for kind, row in self.tree(lb["id"]):
            self.objects[kind].pop(row["id"], None)
        del self.objects["loadbalancers"][lb["id"]]
        if lb.get("_own_port") and lb["vip_port_id"] in self.network.collections["ports"]:
            self.network.delete_port(lb["project_id"], lb["vip_port_id"])

    def failover(self, lb_id: str) -> Json:
        """An admin's ``failover``: the only way out of ``ERROR`` besides deleting."""
        lb = self.get("loadbalancers", lb_id, None)
        if lb["provisioning_status"] in PENDING:
            raise immutable("Load Balancer", lb_id)
        for _, row in self.tree(lb_id):
            if row["provisioning_status"] == "ERROR":
                row["provisioning_status"] = "PENDING_UPDATE"
        self._arm(lb, "PENDING_UPDATE")
        lb["_settle"]["error"] = False
        return lb

    # ------------------------------------------------------------------ quotas

    def quota_for(self, project: str) -> dict[str, int]:
        limits = self.quotas.get(project, {})
        return {k: limits.get(k, self.default_quota) for k in QUOTA_KEYS}

    def set_quota(self, project: str, values: Json) -> dict[str, int]:
        limits = self.quotas.setdefault(project, {})
        aliases = {"loadbalancer": "load_balancer", "healthmonitor": "health_monitor"}
        for key, value in values.items():
            limits[aliases.get(key, key)] = int(value)
        return self.quota_for(project)

    def _check_quota(self, project: str, counts: dict[str, int]) -> None:
        limits = self.quota_for(project)
        for kind, count in counts.items():
            name, key = KINDS[kind]
            if count and limits[key] >= 0:
                used = sum(1 for r in self.objects[kind].values() if r["project_id"] == project)
                if used + count > limits[key]:
                    raise octavia_quota(name)

    # ------------------------------------------------------------------ checks shared by every path

    def _check_refs(self, *refs: str | None) -> None:
        missing = [r for r in refs if r and r not in self.tls_refs]
        if missing:
            raise BadRequest(f"Could not retrieve certificate: {missing}")

    def _check_listener(self, lb: Json, v: Json, others: list[Json], *, update: Json | None = None) -> None:
        """``v``: the listener's values after the change; ``others``: the load balancer's other listeners."""
        protocol = v["protocol"]
        if update is None:
            for other in others:
                if other["protocol_port"] == v["protocol_port"] and \
                        sch.TRANSPORT[other["protocol"]] == sch.TRANSPORT[protocol]:
                    raise Conflict(f"Another Listener on this Load Balancer is already using protocol_port "
                                   f"{v['protocol_port']}")
        refs = [v.get("default_tls_container_ref"), *(v.get("sni_container_refs") or [])]
        if protocol == "TERMINATED_HTTPS" and not any(refs):
            raise octavia_validation("An SNI or default certificate container reference must be provided for "
                                     "TERMINATED_HTTPS listeners.")
        if protocol != "TERMINATED_HTTPS" and any(refs):
            raise octavia_validation("Certificate container references are only allowed on TERMINATED_HTTPS "
                                     "protocol listeners.")
        self._check_refs(*refs, v.get("client_ca_tls_container_ref"), v.get("client_crl_container_ref"))
        headers = v.get("insert_headers") or {}
        if headers:
            if protocol not in ("HTTP", "TERMINATED_HTTPS"):
                raise octavia_validation(f"The following headers are not supported for {protocol} listeners: "
                                         f"{', '.join(sorted(headers))}")
            bad = sorted(h for h in headers if h not in sch.INSERT_HEADERS)
            if bad:
                raise octavia_validation(f"Unsupported headers: {', '.join(bad)}")
            for name, value in headers.items():
                if value.lower() not in ("true", "false") and not name.startswith("X-SSL"):
                    raise octavia_validation(f"Header {name} value {value} must be true or false")
        vip_version = ipaddress.ip_address(lb["vip_address"]).version if lb["vip_address"] else \
            self.network.collections["subnets"][lb["vip_subnet_id"]]["ip_version"]
        for cidr in v.get("allowed_cidrs") or []:
            if ipaddress.ip_network(cidr).version != vip_version:
                raise octavia_validation(f"CIDR {cidr} IP version incompatible with VIP {lb['vip_address']} IP version.")
        if lb["provider"] == "ovn":
            if protocol not in ("TCP", "UDP", "SCTP"):
                raise unsupported_option("ovn", f"OVN provider does not support {protocol} protocol")
            if v.get("allowed_cidrs"):
                raise unsupported_option("ovn", "OVN provider does not support allowed_cidrs option")

    def _check_pool(self, lb: Json, v: Json, listener: Json | None) -> None:
        if listener is not None and v["protocol"] not in sch.LISTENER_POOL_PROTOCOLS[listener["protocol"]]:
            raise octavia_validation(f"The pool protocol '{v['protocol']}' is invalid while the listener protocol "
                                     f"is '{listener['protocol']}'.")
        persistence = v.get("session_persistence")
        if persistence:
            kind = persistence["type"]
            if kind == "APP_COOKIE" and not persistence.get("cookie_name"):
                raise octavia_validation("Field 'cookie_name' must be specified when using the APP_COOKIE session "
                                         "persistence type.")
            if kind != "APP_COOKIE" and persistence.get("cookie_name"):
                raise octavia_validation("Field 'cookie_name' should not be specified when using the "
                                         f"{kind} session persistence type.")
            if v["protocol"] in ("UDP", "SCTP") and kind != "SOURCE_IP":
                raise octavia_validation(f"Session persistence of type {kind} is not supported for "
                                         f"{v['protocol']} protocol pools.")
        self._check_refs(v.get("tls_container_ref"), v.get("ca_tls_container_ref"), v.get("crl_container_ref"))
        if lb["provider"] == "ovn":
            if v["protocol"] in ("PROXY", "PROXYV2", "HTTP", "HTTPS"):
                raise unsupported_option("ovn", f"OVN provider does not support {v['protocol']} protocol")
            if v["lb_algorithm"] != "SOURCE_IP_PORT":
                raise unsupported_option("ovn", f"OVN provider does not support {v['lb_algorithm']} algorithm")

    def _check_member(self, lb: Json, v: Json, taken: set[tuple[str, int]]) -> None:
        address = ipaddress.ip_address(v["address"])
        if address.is_unspecified or address.is_multicast or str(address) == "169.254.169.254":
            raise octavia_validation(f"Member address {address} is reserved and cannot be used.")
        if (v["address"], v["protocol_port"]) in taken:
            raise Conflict(f"Another member on this pool is already using ip {v['address']} on protocol_port "
                           f"{v['protocol_port']}")
        if v.get("subnet_id") and v["subnet_id"] not in self.network.collections["subnets"]:
            raise octavia_not_found("Subnet", v["subnet_id"])
        if lb["provider"] == "ovn" and (v.get("monitor_port") or v.get("monitor_address")):
            raise unsupported_option("ovn", "OVN provider does not support monitor options")

    @staticmethod
    def _check_hm(lb: Json, pool: Json, v: Json) -> None:
        kind = v["type"]
        allowed = sch.POOL_HM_TYPES.get(pool["protocol"])
        if kind == "UDP-CONNECT" and pool["protocol"] != "UDP":
            raise octavia_validation(f"The associated pool protocol is {pool['protocol']}, so only a HTTP, HTTPS, "
                                     f"PING, TCP or TLS-HELLO type health monitor is supported.")
        if allowed is not None and kind not in allowed:
            raise octavia_validation(f"The associated pool protocol is {pool['protocol']}, so only a "
                                     f"{', '.join(allowed)} type health monitor is supported.")
        if kind not in ("HTTP", "HTTPS"):
            for name in ("http_method", "url_path", "expected_codes", "http_version", "domain_name"):
                if v.get(name) is not None:
                    raise BadRequest(f"{name} is not a valid option for health monitors of type {kind}")
        if kind == "UDP-CONNECT" and v["delay"] < v["timeout"]:
            raise octavia_validation(f"The request delay value {v['delay']} should be larger than the request "
                                     f"timeout value {v['timeout']}.")
        if lb["provider"] == "ovn" and kind not in ("TCP", "UDP-CONNECT", "SCTP"):
            raise unsupported_option("ovn", f"OVN provider does not support {kind} health monitor type")

    # ------------------------------------------------------------------ building rows

    @staticmethod
    def _base(project: str, lb_id: str | None, v: Json) -> Json:
        now = now_octavia()
        row = {"id": new_uuid(), "project_id": project, "provisioning_status": "PENDING_CREATE",
               "created_at": now, "updated_at": None}
        if lb_id is not None:
            row["_lb"] = lb_id
        row.update(v)
        return row

    def _new_member(self, project: str, lb: Json, pool: Json, v: Json) -> Json:
        v.pop("project_id", None)
        row = self._base(project, lb["id"], v)
        row["_pool"] = pool["id"]
        row.setdefault("subnet_id", None)
        row.setdefault("monitor_port", None)
        row.setdefault("monitor_address", None)
        row["vnic_type"] = "direct" if row.pop("request_sriov", False) else "normal"
        return row

    def _new_hm(self, project: str, lb: Json, pool: Json, v: Json) -> Json:
        v.pop("project_id", None)
        v.pop("pool_id", None)
        if v["type"] in ("HTTP", "HTTPS"):
            v.setdefault("http_method", "GET")
            v.setdefault("url_path", "/")
            v.setdefault("expected_codes", "200")
        for name in ("http_method", "url_path", "expected_codes", "http_version", "domain_name"):
            v.setdefault(name, None)
        row = self._base(project, lb["id"], v)
        row["_pool"] = pool["id"]
        return row

    def _build_pool(self, project: str, lb: Json, v: Json, listener: Json | None, out: list[tuple[str, Json]],
                    ) -> Json:
        """Check a pool (with its nested members and monitor) and stage its rows in ``out``."""
        members = v.pop("members", None) or []
        hm = v.pop("healthmonitor", None)
        for name in ("listener_id", "loadbalancer_id", "project_id"):
            v.pop(name, None)
        self._check_pool(lb, v, listener)
        v.setdefault("session_persistence", None)
        for name in ("tls_container_ref", "ca_tls_container_ref", "crl_container_ref", "tls_ciphers", "tls_versions",
                     "alpn_protocols"):
            v.setdefault(name, None)
        pool = self._base(project, lb["id"], v)
        pool["_listener"] = listener["id"] if listener is not None else None
        pool["_hm"] = None
        out.append(("pools", pool))
        taken: set[tuple[str, int]] = set()
        for m in members:
            self._check_member(lb, m, taken)
            taken.add((m["address"], m["protocol_port"]))
            out.append(("members", self._new_member(project, lb, pool, dict(m))))
        if hm is not None:
            self._check_hm(lb, pool, hm)
            row = self._new_hm(project, lb, pool, dict(hm))
            pool["_hm"] = row["id"]
            out.append(("healthmonitors", row))
        return pool

    def _build_listener(self, project: str, lb: Json, v: Json, others: list[Json], out: list[tuple[str, Json]],
                        ) -> Json:
        default_pool = v.pop("default_pool", None)
        if v.pop("l7policies", None):
            raise octavia_validation("L7 policies are not emulated.")
        v.pop("loadbalancer_id", None)
        v.pop("project_id", None)
        self._check_listener(lb, v, others)
        for name, value in sch.TIMEOUT_DEFAULTS.items():
            if v.get(name) is None:
                v[name] = value
        for name in ("default_tls_container_ref", "client_ca_tls_container_ref", "client_crl_container_ref",
                     "tls_ciphers", "tls_versions", "alpn_protocols", "hsts_max_age", "hsts_include_subdomains",
                     "hsts_preload"):
            v.setdefault(name, None)
        v.setdefault("sni_container_refs", [])
        v.setdefault("insert_headers", {})
        v["allowed_cidrs"] = list(dict.fromkeys(v.get("allowed_cidrs") or [])) or None
        pool_id = v.get("default_pool_id")
        listener = self._base(project, lb["id"], v)
        out.append(("listeners", listener))
        if pool_id is not None:
            pool = self.get("pools", pool_id, project)
            if pool["_lb"] != lb["id"]:
                raise octavia_validation(f"Pool {pool_id} is not on load balancer {lb['id']}.")
            if pool.get("_listener"):
                raise Conflict("This listener already has a default pool")
            self._check_pool(lb, pool, listener)
        if default_pool is not None:
            if pool_id is not None:
                raise octavia_validation("default_pool and default_pool_id cannot both be given.")
            pool = self._build_pool(project, lb, dict(default_pool), listener, out)
            listener["default_pool_id"] = pool["id"]
        else:
            listener.setdefault("default_pool_id", None)
        return listener

    def _commit(self, staged: list[tuple[str, Json]]) -> None:
        for kind, row in staged:
            self.objects[kind][row["id"]] = row
            if kind == "pools" and row.get("_listener"):
                listener = self.objects["listeners"][row["_listener"]]
                listener["default_pool_id"] = row["id"]

    @staticmethod
    def _count(staged: list[tuple[str, Json]]) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for kind, _ in staged:
            counts[kind] += 1
        return counts

    # ------------------------------------------------------------------ load balancers

    def create_lb(self, project: str, v: Json) -> Json:
        provider = v.pop("provider", None) or "amphora"
        if provider not in PROVIDERS:
            raise BadRequest(f"Provider '{provider}' is not enabled.")
        flavor_id = v.get("flavor_id")
        if flavor_id is not None:
            flavor = self.flavors.get(flavor_id)
            if flavor is None:
                raise BadRequest(f"Flavor {flavor_id} not found.")
            if not flavor.get("enabled", True):
                raise BadRequest(f"The selected flavor is not allowed in this deployment: {flavor_id}")
        zone = v.get("availability_zone")
        if zone is not None and zone not in self.availability_zones:
            raise BadRequest(f"Availability Zone {zone} not found.")
        listeners = v.pop("listeners", None) or []
        pools = v.pop("pools", None) or []
        v.pop("project_id", None)
        v.pop("additional_vips", None)
        vip = self._vip_plan(project, v)
        lb = self._base(project, None, v)
        lb.update(provider=provider, operating_status="OFFLINE", flavor_id=flavor_id, availability_zone=zone,
                  vip_address=vip["address"], vip_subnet_id=vip["subnet_id"], vip_network_id=vip["network_id"],
                  vip_port_id=vip["port_id"], additional_vips=[])
        lb.setdefault("vip_qos_policy_id", None)
        lb.setdefault("vip_sg_ids", None)
        staged: list[tuple[str, Json]] = []
        made: list[Json] = []
        for item in listeners:
            made.append(self._build_listener(project, lb, dict(item), made, staged))
        for item in pools:
            self._build_pool(project, lb, dict(item), None, staged)
        counts = self._count(staged)
        counts["loadbalancers"] = 1
        self._check_quota(project, counts)
        if vip["port_id"] is None:
            port = self.network.create("ports", project, {
                "network_id": vip["network_id"], "name": f"octavia-lb-{lb['id']}", "admin_state_up": False,
                "device_owner": "Octavia", "device_id": f"lb-{lb['id']}",
                "fixed_ips": [{"subnet_id": vip["subnet_id"],
                               **({"ip_address": vip["address"]} if vip["address"] else {})}]})
            lb.update(vip_port_id=port["id"], vip_address=port["fixed_ips"][0]["ip_address"], _own_port=True)
        self.objects["loadbalancers"][lb["id"]] = lb
        self._commit(staged)
        self._arm(lb, "PENDING_CREATE")
        return lb

    def _vip_plan(self, project: str, v: Json) -> Json:
        port_id, subnet_id, network_id = v.pop("vip_port_id", None), v.pop("vip_subnet_id", None), \
            v.pop("vip_network_id", None)
        address = v.pop("vip_address", None)
        if not (port_id or subnet_id or network_id):
            raise octavia_validation("VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.")
        net = self.network
        if port_id is not None:
            port = net.collections["ports"].get(port_id)
            if port is None or port["project_id"] != project:
                raise BadRequest(f"Port {port_id} not found.")
            for lb in self.objects["loadbalancers"].values():
                if lb["vip_port_id"] == port_id:
                    raise octavia_validation(f"Port {port_id} is already used by load balancer {lb['id']}.")
            fixed = port["fixed_ips"]
            chosen = next((ip for ip in fixed if address in (None, ip["ip_address"])
                           and subnet_id in (None, ip["subnet_id"])), None)
            if chosen is None:
                raise octavia_validation(f"Port {port_id} has no fixed IP matching the VIP.")
            return {"port_id": port_id, "network_id": port["network_id"], "subnet_id": chosen["subnet_id"],
                    "address": chosen["ip_address"]}
        if subnet_id is not None:
            subnet = net.collections["subnets"].get(subnet_id)
            if subnet is None or not (subnet["project_id"] == project or
                                      net.collections["networks"][subnet["network_id"]].get("shared")):
                raise BadRequest(f"Subnet {subnet_id} not found.")
            if network_id is not None and subnet["network_id"] != network_id:
                raise octavia_validation(f"Subnet {subnet_id} is not on network {network_id}.")
        else:
            network = net.collections["networks"].get(str(network_id))
            if network is None or not (network["project_id"] == project or network.get("shared")):
                raise BadRequest(f"Network {network_id} not found.")
            wanted = ipaddress.ip_address(address).version if address else 4
            subnet = next((net.collections["subnets"][sid] for sid in network["subnets"]
                           if net.collections["subnets"][sid]["ip_version"] == wanted), None)
            if subnet is None:
                raise octavia_validation(f"Network {network_id} has no IPv{wanted} subnet for the VIP.")
        if address is not None and ipaddress.ip_address(address) not in ipaddress.ip_network(subnet["cidr"]):
            raise octavia_validation(f"VIP address {address} is not in subnet {subnet['id']}.")
        return {"port_id": None, "network_id": subnet["network_id"], "subnet_id": subnet["id"], "address": address}

    def update_lb(self, project: str, ident: str, v: Json) -> Json:
        lb = self.get("loadbalancers", ident, project)
        self._begin(lb)
        lb.update(v)
        return lb

    def delete_lb(self, project: str, ident: str, *, cascade: bool) -> None:
        lb = self.get("loadbalancers", ident, project)
        children = [row for _, row in self.tree(ident) if "_pool" not in row]
        if children and not cascade and lb["provisioning_status"] not in PENDING:
            raise octavia_validation(f"Cannot delete Load Balancer {ident} - it has children")
        self._begin(lb, "PENDING_DELETE")
        for _, row in self.tree(ident):
            row["provisioning_status"] = "PENDING_DELETE"

    # ------------------------------------------------------------------ listeners

    def create_listener(self, project: str, v: Json) -> Json:
        lb = self.get("loadbalancers", v["loadbalancer_id"], project)
        others = [r for r in self.objects["listeners"].values() if r["_lb"] == lb["id"]]
        staged: list[tuple[str, Json]] = []
        listener = self._build_listener(project, lb, v, others, staged)
        self._check_quota(project, self._count(staged))
        self._begin(lb)
        self._commit(staged)
        if listener.get("default_pool_id"):
            self.objects["pools"][listener["default_pool_id"]]["_listener"] = listener["id"]
        return listener

    def update_listener(self, project: str, ident: str, v: Json) -> Json:
        listener = self.get("listeners", ident, project)
        lb = self.lb_of(listener)
        self._child_mutable("listeners", listener)
        after = {**listener, **v}
        if "allowed_cidrs" in v:
            after["allowed_cidrs"] = list(dict.fromkeys(v["allowed_cidrs"] or [])) or None
        for name, value in sch.TIMEOUT_DEFAULTS.items():
            if name in v and v[name] is None:
                after[name] = value
        self._check_listener(lb, after, [], update=v)
        new_pool = v.get("default_pool_id")
        if new_pool and new_pool != listener.get("default_pool_id"):
            pool = self.get("pools", new_pool, project)
            if pool["_lb"] != lb["id"]:
                raise octavia_validation(f"Pool {new_pool} is not on load balancer {lb['id']}.")
            self._check_pool(lb, pool, after)
        self._begin(lb)
        old_pool = listener.get("default_pool_id")
        listener.update({k: after[k] for k in v})
        listener["provisioning_status"] = "PENDING_UPDATE"
        listener["updated_at"] = now_octavia()
        if "default_pool_id" in v and old_pool != v["default_pool_id"]:
            if old_pool in self.objects["pools"]:
                self.objects["pools"][old_pool]["_listener"] = None
            if v["default_pool_id"]:
                self.objects["pools"][v["default_pool_id"]]["_listener"] = ident
        return listener

    def delete_listener(self, project: str, ident: str) -> None:
        listener = self.get("listeners", ident, project)
        self._child_mutable("listeners", listener, deleting=True)
        self._begin(self.lb_of(listener))
        listener["provisioning_status"] = "PENDING_DELETE"

    # ------------------------------------------------------------------ pools

    def create_pool(self, project: str, v: Json) -> Json:
        listener = None
        if v.get("listener_id"):
            listener = self.get("listeners", v["listener_id"], project)
            if listener.get("default_pool_id"):
                raise Conflict("This listener already has a default pool")
            lb = self.lb_of(listener)
            if v.get("loadbalancer_id") and v["loadbalancer_id"] != lb["id"]:
                raise octavia_validation("The listener is not on the given load balancer.")
        elif v.get("loadbalancer_id"):
            lb = self.get("loadbalancers", v["loadbalancer_id"], project)
        else:
            raise octavia_validation("A listener_id or loadbalancer_id must be specified.")
        staged: list[tuple[str, Json]] = []
        pool = self._build_pool(project, lb, v, listener, staged)
        self._check_quota(project, self._count(staged))
        self._begin(lb)
        self._commit(staged)
        return pool

    def update_pool(self, project: str, ident: str, v: Json) -> Json:
        pool = self.get("pools", ident, project)
        lb = self.lb_of(pool)
        self._child_mutable("pools", pool)
        after = {**pool, **v}
        listener = self.objects["listeners"].get(pool.get("_listener") or "")
        self._check_pool(lb, after, listener)
        self._begin(lb)
        pool.update(v)
        pool["provisioning_status"] = "PENDING_UPDATE"
        pool["updated_at"] = now_octavia()
        return pool

    def delete_pool(self, project: str, ident: str) -> None:
        pool = self.get("pools", ident, project)
        self._child_mutable("pools", pool, deleting=True)
        self._begin(self.lb_of(pool))
        pool["provisioning_status"] = "PENDING_DELETE"

    # ------------------------------------------------------------------ members

    def pool_members(self, pool_id: str) -> list[Json]:
        return [m for m in self.objects["members"].values() if m["_pool"] == pool_id]

    def create_member(self, project: str, pool_id: str, v: Json) -> Json:
        pool = self.get("pools", pool_id, project)
        lb = self.lb_of(pool)
        self._child_mutable("pools", pool)
        self._check_member(lb, v, {(m["address"], m["protocol_port"]) for m in self.pool_members(pool_id)})
        self._check_quota(project, {"members": 1})
        self._begin(lb)
        row = self._new_member(project, lb, pool, v)
        self.objects["members"][row["id"]] = row
        return row

    def member(self, project: str, pool_id: str, ident: str) -> Json:
        row = self.get("members", ident, project)
        if row["_pool"] != pool_id:
            raise octavia_not_found("Member", ident)
        return row

    def update_member(self, project: str, pool_id: str, ident: str, v: Json) -> Json:
        row = self.member(project, pool_id, ident)
        pool = self.objects["pools"][pool_id]
        self._child_mutable("pools", pool)
        lb = self.lb_of(pool)
        if lb["provider"] == "ovn" and (v.get("monitor_port") or v.get("monitor_address")):
            raise unsupported_option("ovn", "OVN provider does not support monitor options")
        self._begin(lb)
        row.update(v)
        row["provisioning_status"] = "PENDING_UPDATE"
        row["updated_at"] = now_octavia()
        return row

    def delete_member(self, project: str, pool_id: str, ident: str) -> None:
        row = self.member(project, pool_id, ident)
        pool = self.objects["pools"][pool_id]
        self._child_mutable("pools", pool)
        self._begin(self.lb_of(pool))
        row["provisioning_status"] = "PENDING_DELETE"

    def batch_members(self, project: str, pool_id: str, members: list[Json], *, additive_only: bool) -> None:
        """``PUT /pools/{id}/members``: the pool's members become ``members`` in one job."""
        pool = self.get("pools", pool_id, project)
        lb = self.lb_of(pool)
        self._child_mutable("pools", pool)
        old = {(m["address"], m["protocol_port"]): m for m in self.pool_members(pool_id)}
        seen: set[tuple[str, int]] = set()
        for m in members:
            key = (m["address"], m["protocol_port"])
            if key in seen:
                raise Conflict(f"Another member on this pool is already using ip {key[0]} on protocol_port {key[1]}")
            seen.add(key)
            if key not in old:
                self._check_member(lb, m, set())
            elif lb["provider"] == "ovn" and (m.get("monitor_port") or m.get("monitor_address")):
                raise unsupported_option("ovn", "OVN provider does not support monitor options")
        new = [m for m in members if (m["address"], m["protocol_port"]) not in old]
        gone = [] if additive_only else [m for k, m in old.items() if k not in seen]
        if len(new) - len(gone) > 0:
            self._check_quota(project, {"members": len(new) - len(gone)})
        self._begin(lb)
        for m in members:
            key = (m["address"], m["protocol_port"])
            if key in old:
                row = old[key]
                row.update({k: v for k, v in m.items() if k in ("name", "admin_state_up", "weight", "backup",
                                                                "monitor_port", "monitor_address", "tags")})
                row["provisioning_status"] = "PENDING_UPDATE"
                row["updated_at"] = now_octavia()
            else:
                row = self._new_member(project, lb, pool, dict(m))
                self.objects["members"][row["id"]] = row
        for row in gone:
            row["provisioning_status"] = "PENDING_DELETE"

    # ------------------------------------------------------------------ health monitors

    def create_hm(self, project: str, v: Json) -> Json:
        pool = self.get("pools", v["pool_id"], project)
        lb = self.lb_of(pool)
        if pool.get("_hm"):
            raise Conflict("This pool already has a health monitor")
        self._child_mutable("pools", pool)
        self._check_hm(lb, pool, v)
        self._check_quota(project, {"healthmonitors": 1})
        self._begin(lb)
        row = self._new_hm(project, lb, pool, v)
        self.objects["healthmonitors"][row["id"]] = row
        pool["_hm"] = row["id"]
        return row

    def update_hm(self, project: str, ident: str, v: Json) -> Json:
        row = self.get("healthmonitors", ident, project)
        self._child_mutable("healthmonitors", row)
        pool = self.objects["pools"][row["_pool"]]
        lb = self.lb_of(row)
        self._check_hm(lb, pool, {**row, **v})
        self._begin(lb)
        row.update(v)
        row["provisioning_status"] = "PENDING_UPDATE"
        row["updated_at"] = now_octavia()
        return row

    def delete_hm(self, project: str, ident: str) -> None:
        row = self.get("healthmonitors", ident, project)
        self._child_mutable("healthmonitors", row, deleting=True)
        self._begin(self.lb_of(row))
        row["provisioning_status"] = "PENDING_DELETE"

    # ------------------------------------------------------------------ views

    def view(self, kind: str, row: Json) -> Json:
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        status = row["provisioning_status"]
        online = "ERROR" if status == "ERROR" else ("ONLINE" if row.get("admin_state_up", True) else "OFFLINE")
        if kind == "loadbalancers":
            out["operating_status"] = "OFFLINE" if status == "PENDING_CREATE" else online
            out["listeners"] = [{"id": r["id"]} for r in self.objects["listeners"].values() if r["_lb"] == row["id"]]
            out["pools"] = [{"id": r["id"]} for r in self.objects["pools"].values() if r["_lb"] == row["id"]]
            out["tenant_id"] = row["project_id"]
        elif kind == "listeners":
            out["operating_status"] = online
            out["loadbalancers"] = [{"id": row["_lb"]}]
            out["l7policies"] = []
        elif kind == "pools":
            out["operating_status"] = online
            out["loadbalancers"] = [{"id": row["_lb"]}]
            out["listeners"] = [{"id": row["_listener"]}] if row.get("_listener") else []
            out["members"] = [{"id": m["id"]} for m in self.pool_members(row["id"])]
            out["healthmonitor_id"] = row.get("_hm")
        elif kind == "members":
            pool = self.objects["pools"].get(row["_pool"], {})
            out["operating_status"] = online if pool.get("_hm") else "NO_MONITOR"
        elif kind == "healthmonitors":
            out["operating_status"] = online
            out["pools"] = [{"id": row["_pool"]}]
        return out

    def visible(self, kind: str, project: str, pool_id: str | None = None) -> list[Json]:
        rows = self.objects[kind].values()
        return [r for r in rows if r["project_id"] == project and (pool_id is None or r.get("_pool") == pool_id)]
