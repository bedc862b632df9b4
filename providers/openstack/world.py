"""Reads: our load balancer and its tree, floating IPs, subnets, node addresses; waiting on Octavia jobs.

Nothing here mutates. ``wait_active`` polls a load balancer at once and then with backoff until
its job is done: ``ACTIVE`` returns it, ``ERROR`` becomes a Warning (``LoadBalancerProvisioningError``)
with a fixed-delay retry, and a job still pending at the deadline a ``RetryError``.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openstack import exceptions as os_exceptions

from providers.adapter.ownership import Owner, foreign
from providers.openstack.config import Waits
from providers.openstack.names import is_owned_lb, load_balancer_name, ownership_tags, server_id_of
from providers.openstack.plan import Observed
from providers.port import Node, RetryError, UserError

log = logging.getLogger(__name__)
Json = dict[str, Any]
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")


def view(resource: Any) -> Json:
    """An SDK resource as the API shows it (server-side attribute names)."""
    return dict(resource.to_dict(headers=False, computed=False, original_names=True))


class ProvisioningError(UserError):
    def __init__(self, lb: Json, key: str) -> None:
        super().__init__(
            f"load balancer {lb.get('name')} ({lb['id']}) is in provisioning status ERROR; Octavia accepts no "
            "change until an operator fails it over (openstack loadbalancer failover <id>); retrying",
            reason="LoadBalancerProvisioningError")


def wait_active(conn: Any, lb_id: str, waits: Waits, key: str, *, gone_ok: bool = False,
                sleep: Callable[[float], None] = time.sleep) -> Json | None:
    """Poll until the load balancer's job is done; None when it is gone (and ``gone_ok``)."""
    delay, deadline = waits.initial, time.monotonic() + waits.timeout
    while True:
        try:
            lb = view(conn.load_balancer.get_load_balancer(lb_id))
        except os_exceptions.NotFoundException:
            if gone_ok:
                return None
            raise
        status = lb.get("provisioning_status")
        if status == "ERROR":
            err = ProvisioningError(lb, key)
            raise err from RetryError(str(err), waits.retry_after)
        if status not in PENDING:
            return lb
        if time.monotonic() + delay > deadline:
            raise RetryError(f"{key}: load balancer {lb_id} still {status} after {waits.timeout:g}s",
                             waits.retry_after)
        sleep(delay)
        delay = min(delay * 1.5, waits.max_interval)


class World:
    """The reads one provider makes; subnet CIDRs are cached (a subnet's CIDR never changes)."""

    def __init__(self, conn: Any, waits: Waits, sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn = conn
        self.waits = waits
        self.sleep = sleep
        self._cidrs: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- load balancers ---------------------------------------------------------------------------

    def find(self, owner: Owner, key: str, *, foreign_is_error: bool, lb_id: str | None = None) -> tuple[Json | None, tuple[Json, ...]]:
        """Our load balancer by name and marks (oldest first), plus any extra one of ours with that name."""
        name = load_balancer_name(owner.cluster, owner.service)
        found = [view(lb) for lb in self.conn.load_balancer.load_balancers(name=name)]
        ours = sorted((lb for lb in found if is_owned_lb(lb.get("name", ""), lb.get("tags") or [], owner)),
                      key=lambda lb: (lb.get("created_at") or "", lb["id"]))
        if not ours and found:
            log.warning("%s: load balancer %s exists but is not tagged as this Service's", key, name)
            if foreign_is_error:
                raise foreign("load balancer", name, owner)
        if lb_id and not any(lb["id"] == lb_id for lb in ours):
            raise UserError(f"load-balancer-id {lb_id} is not this Service's load balancer; sharing or adopting "
                            "another load balancer is not implemented", reason="LoadBalancerSharingNotSupported")
        live = [lb for lb in ours if lb.get("provisioning_status") != "PENDING_DELETE"]
        if not live:
            return None, ()
        return live[0], tuple(live[1:])

    def settled(self, lb: Json, key: str) -> Json:
        """``lb`` once no job runs on it (never plan against a pending load balancer)."""
        if lb.get("provisioning_status") in PENDING or lb.get("provisioning_status") == "ERROR":
            waited = wait_active(self.conn, lb["id"], self.waits, key, sleep=self.sleep)
            assert waited is not None
            return waited
        return lb

    def tree(self, lb: Json, *, monitors: bool = True) -> tuple[tuple[Json, ...], dict[str, Json], dict[str, tuple[Json, ...]], dict[str, Json]]:
        lbaas = self.conn.load_balancer
        # the filter is the API's; the check on each object's load balancers is ours (never act on another's)
        listeners = tuple(li for li in (view(x) for x in lbaas.listeners(load_balancer_id=lb["id"]))
                          if _on(li, lb["id"]))
        pools = {p["id"]: p for p in (view(x) for x in lbaas.pools(loadbalancer_id=lb["id"])) if _on(p, lb["id"])}
        members = {pid: tuple(view(m) for m in lbaas.members(pid)) for pid in pools}
        hms: dict[str, Json] = {}
        if monitors:
            for pid, pool in pools.items():
                if pool.get("healthmonitor_id"):
                    hms[pid] = view(lbaas.get_health_monitor(pool["healthmonitor_id"]))
        return listeners, pools, members, hms

    # -- floating IPs -------------------------------------------------------------------------------

    def port_fips(self, port_id: str) -> tuple[Json, ...]:
        return tuple(view(f) for f in self.conn.network.ips(port_id=port_id))

    def owned_fips(self, owner: Owner) -> tuple[Json, ...]:
        return tuple(view(f) for f in self.conn.network.ips(tags=",".join(ownership_tags(owner))))

    def fip_at(self, address: str) -> Json | None:
        found = [view(f) for f in self.conn.network.ips(floating_ip_address=address)]
        return found[0] if found else None

    def floating_subnet(self, network_id: str, subnet_id: str, name: str, tags: str) -> str | None:
        """The floating subnet to allocate from: by id, else by name, else by tags (``&``: all of them)."""
        if subnet_id:
            return subnet_id
        if not (name or tags):
            return None
        subnets = [view(s) for s in self.conn.network.subnets(network_id=network_id)]
        if name:
            subnets = [s for s in subnets if s.get("name") == name]
        if tags:
            wanted = {t.strip() for t in tags.lstrip("&").split(",") if t.strip()}
            need_all = tags.startswith("&")
            subnets = [s for s in subnets if (wanted <= set(s.get("tags") or []) if need_all
                                              else bool(wanted & set(s.get("tags") or [])))]
        if not subnets:
            raise UserError(f"no subnet of floating network {network_id} matches name {name!r} / tags {tags!r}",
                            reason="FloatingSubnetNotFound")
        return str(subnets[0]["id"])

    # -- subnets and members ------------------------------------------------------------------------

    def cidr(self, subnet_id: str) -> str:
        with self._lock:
            if subnet_id in self._cidrs:
                return self._cidrs[subnet_id]
        try:
            cidr = str(self.conn.network.get_subnet(subnet_id).cidr)
        except os_exceptions.NotFoundException:
            raise UserError(f"subnet {subnet_id} does not exist", reason="SubnetNotFound") from None
        with self._lock:
            self._cidrs[subnet_id] = cidr
        return cidr

    def subnet_of_network(self, network_id: str) -> str:
        subnets = [view(s) for s in self.conn.network.subnets(network_id=network_id, ip_version=4)]
        if not subnets:
            raise UserError(f"network {network_id} has no IPv4 subnet for the VIP", reason="SubnetNotFound")
        return str(subnets[0]["id"])

    def member_addresses(self, nodes: Sequence[Node], subnet_id: str, selector: Mapping[str, str], key: str
                         ) -> tuple[dict[str, str], list[str]]:
        """node name -> its address on ``subnet_id``; and the nodes left out (no address there)."""
        net = ipaddress.ip_network(self.cidr(subnet_id))
        chosen: dict[str, str] = {}
        missing: list[Node] = []
        for node in nodes:
            if any(node.labels.get(k) != v and not (v == "" and k in node.labels) for k, v in selector.items()):
                continue
            address = next((a.address for a in node.addresses if a.type in ("InternalIP", "ExternalIP")
                            and _in(a.address, net)), None)
            if address is None:
                missing.append(node)
            else:
                chosen[node.name] = address
        if missing:
            # the node's status lists no address on that subnet: its server's port there says it
            ports = [view(p) for p in self.conn.network.ports(fixed_ips=f"subnet_id={subnet_id}")]
            by_device = {p.get("device_id"): p for p in ports}
            for node in missing:
                try:
                    port = by_device.get(server_id_of(node.provider_id)) if node.provider_id else None
                except ValueError:
                    port = None
                ips = [ip["ip_address"] for ip in (port or {}).get("fixed_ips", []) if ip.get("subnet_id") == subnet_id]
                if ips:
                    chosen[node.name] = ips[0]
        left_out = sorted(n.name for n in missing if n.name not in chosen)
        if left_out:
            log.warning("%s: nodes without an address on member subnet %s are left out: %s", key, subnet_id,
                        ", ".join(left_out))
        return chosen, left_out

    def observe(self, lb: Json | None, extras: tuple[Json, ...], owner: Owner, *, fips: bool, monitors: bool = True,
                requested_ip: str | None = None) -> Observed:
        if lb is None:
            return Observed(owned_fips=self.owned_fips(owner) if fips else (), extra_lbs=extras,
                            requested_fip=self.fip_at(requested_ip) if fips and requested_ip else None)
        listeners, pools, members, hms = self.tree(lb, monitors=monitors)
        port_fips = self.port_fips(lb["vip_port_id"]) if fips else ()
        owned: tuple[Json, ...] = ()
        requested = None
        if fips:
            tags = set(ownership_tags(owner))
            if not any(tags <= set(f.get("tags") or []) for f in port_fips):
                owned = self.owned_fips(owner)
            if requested_ip and not any(f.get("floating_ip_address") == requested_ip for f in port_fips):
                requested = self.fip_at(requested_ip)
        return Observed(lb, listeners, pools, members, hms, port_fips, owned, requested, extras)


def _on(obj: Json, lb_id: str) -> bool:
    return any(ref.get("id") == lb_id for ref in obj.get("loadbalancers") or [])


def _in(address: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(address) in net
    except ValueError:
        return False
