"""The emulated Compute Engine: resources, the rules the API enforces, and nothing of HTTP.

State is keyed like the API: project, then scope (``global``, ``regions/<r>``, ``zones/<z>``),
then collection and name. Every public method takes already-decoded path parameters and a JSON
body and returns JSON; ``wire.py`` maps HTTP onto them through the route table.

Rules enforced (what Compute Engine enforces and a client must cope with):
- names match RFC 1035 (``invalid``), and are unique per collection and scope (``alreadyExists``);
- references must resolve (``notFound`` / ``invalid``), and a resource that another one refers to
  cannot be deleted (``resourceInUseByAnotherResource``), except that an address held by one
  forwarding rule may be released (the rule keeps the IP as an ephemeral one, as upstream's
  "reserve while updating, then release" relies on); an address shared by several may not;
- updates and patches carrying a stale ``fingerprint`` fail (``conditionNotMet``, HTTP 412);
- per-project/per-region quotas end the operation in ``QUOTA_EXCEEDED``;
- the load-balancing rules that shape an adapter: forwarding rules are immutable apart from
  ``allowGlobalAccess``; at most 5 discrete ``ports``; the forwarding rule's scheme and protocol
  must agree with its backend service's; one IP is shared by several forwarding rules only when it
  is a reserved address (internal: with purpose ``SHARED_LOADBALANCER_VIP``) and their ports do not
  overlap; an external backend service takes exactly one regional health check and backends with
  balancing mode ``CONNECTION``; an instance joins an instance group of its own zone once.

Mutations are applied when the call is accepted; the operation reports completion later (see
``operations.py``). A quota failure is reported in the operation and nothing is applied.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import itertools
import os
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from emulators.gce import links
from emulators.gce.errors import (
    AlreadyExists,
    BadRequest,
    ConditionNotMet,
    GoogleError,
    Invalid,
    NotFound,
    OperationError,
    ResourceInUse,
    quota_exceeded,
)
from emulators.gce.links import Ref
from emulators.gce.listing import page
from emulators.gce.operations import Operations
from emulators.gce.timefmt import rfc3339

Json = dict[str, Any]

#: quota metric -> (collections counted, scope level, predicate); limits live in ``Config.quotas``
QUOTA_METRICS: dict[str, tuple[tuple[str, ...], str, Callable[[Json], bool]]] = {
    "FORWARDING_RULES": (("forwardingRules",), "region", lambda r: True),
    "STATIC_ADDRESSES": (("addresses",), "region", lambda r: r.get("addressType") == "EXTERNAL"),
    "INTERNAL_ADDRESSES": (("addresses",), "region", lambda r: r.get("addressType") == "INTERNAL"),
    "REGION_BACKEND_SERVICES": (("backendServices",), "region", lambda r: True),
    "INSTANCE_GROUPS": (("instanceGroups",), "region", lambda r: True),
    "HEALTH_CHECKS": (("healthChecks",), "project", lambda r: True),
    "FIREWALLS": (("firewalls",), "project", lambda r: True),
}

DEFAULT_QUOTAS = {
    "FORWARDING_RULES": 1000, "STATIC_ADDRESSES": 1000, "INTERNAL_ADDRESSES": 1000,
    "REGION_BACKEND_SERVICES": 1000, "INSTANCE_GROUPS": 1000, "HEALTH_CHECKS": 1000, "FIREWALLS": 2000,
}

#: (scope kind, collection) -> resource kind; the collections this emulator serves
KINDS: dict[tuple[str, str], str] = {
    ("global", "firewalls"): "compute#firewall",
    ("global", "healthChecks"): "compute#healthCheck",
    ("global", "networks"): "compute#network",
    ("region", "addresses"): "compute#address",
    ("region", "forwardingRules"): "compute#forwardingRule",
    ("region", "backendServices"): "compute#backendService",
    ("region", "healthChecks"): "compute#healthCheck",
    ("region", "subnetworks"): "compute#subnetwork",
    ("zone", "instances"): "compute#instance",
    ("zone", "instanceGroups"): "compute#instanceGroup",
}
#: collections that carry a ``fingerprint`` checked on update/patch
FINGERPRINTED = frozenset({"forwardingRules", "backendServices", "instanceGroups"})
#: collections only the emulator's owner creates (read-only through the API)
SEEDED = frozenset({"networks", "subnetworks", "instances"})

_PASSTHROUGH_SCHEMES = ("EXTERNAL", "INTERNAL")
_FR_PROTOCOLS = ("TCP", "UDP", "L3_DEFAULT")
_BS_PROTOCOLS = ("TCP", "UDP", "UNSPECIFIED")
_AFFINITIES = ("NONE", "CLIENT_IP", "CLIENT_IP_PROTO", "CLIENT_IP_PORT_PROTO", "CLIENT_IP_NO_DESTINATION")
_HC_TYPES = {"TCP": "tcpHealthCheck", "SSL": "sslHealthCheck", "HTTP": "httpHealthCheck",
             "HTTPS": "httpsHealthCheck", "HTTP2": "http2HealthCheck", "GRPC": "grpcHealthCheck"}
_FW_PORT_PROTOCOLS = ("tcp", "udp", "sctp", "all")
_FW_PROTOCOLS = (*_FW_PORT_PROTOCOLS, "icmp", "esp", "ah", "ipip")


def scope_kind(scope: str) -> str:
    return "global" if scope == "global" else scope.split("/", 1)[0][:-1]


def _fingerprint() -> str:
    return base64.b64encode(os.urandom(8)).decode()


def _bad(field_path: str, value: Any, why: str) -> Invalid:
    return Invalid(f"Invalid value for field 'resource.{field_path}': '{value}'. {why}")


def merge_patch(target: Json, patch: Json) -> Json:
    """RFC 7396 JSON merge patch (lists replace, null deletes): what ``patch`` methods apply."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _port_set(fr: Json) -> set[int] | None:
    """The ports a forwarding rule takes on its IP, None meaning all."""
    if fr.get("allPorts") or fr.get("IPProtocol") == "L3_DEFAULT":
        return None
    if fr.get("ports"):
        return {int(p) for p in fr["ports"]}
    lo, _, hi = str(fr.get("portRange", "")).partition("-")
    return set(range(int(lo), int(hi or lo) + 1)) if lo else None


@dataclass
class Project:
    """What exists without the API: regions with their zones, networks, subnetworks, instances."""

    name: str
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Config:
    external_cidr: str = "35.200.0.0/16"
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))


class ComputeState:
    """All resources of all projects, behind one lock."""

    def __init__(self, config: Config | None = None, operations: Operations | None = None) -> None:
        self.config = config or Config()
        self.operations = operations or Operations()
        self._lock = threading.RLock()
        self._ids = itertools.count(1000000000000000001)
        self._projects: dict[str, Project] = {}
        self._res: dict[Ref, Json] = {}
        self._members: dict[Ref, list[str]] = {}  # instance group -> instance URLs, in insertion order
        self._seeds: list[Callable[[], Any]] = []
        self._baseline: int | None = None

    # ----------------------------------------------------------------- world (not through the API)

    def reset(self) -> None:
        """Forget everything, then replay the seeding calls (projects, instances, subnetworks)."""
        with self._lock:
            self._res.clear()
            self._members.clear()
            self._projects.clear()
            self.operations.reset()
            self.config.quotas = dict(DEFAULT_QUOTAS)
            seeds, self._seeds = self._seeds[:self._baseline], []
            for seed in seeds:
                seed()
            self._seeds = seeds

    def baseline(self) -> None:
        """From now on ``reset`` returns to the world as it is now (later seeding is undone)."""
        with self._lock:
            self._baseline = len(self._seeds)

    def _seeded(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            out = fn()
            self._seeds.append(fn)
            return out

    def add_project(self, project: str, region: str, zones: tuple[str, ...] | list[str],
                    subnet_cidr: str = "10.128.0.0/20") -> None:
        """A project with one region, its zones, the ``default`` network and subnetwork."""
        def seed() -> None:
            p = self._projects.setdefault(project, Project(project))
            p.regions[region] = tuple(zones)
            net = Ref(project, "global", "networks", "default")
            if net not in self._res:
                self._store(net, {"autoCreateSubnetworks": True, "routingConfig": {"routingMode": "REGIONAL"},
                                  "mtu": 1460, "subnetworks": []})
            self._add_subnetwork(project, region, "default", subnet_cidr, "default")
        self._seeded(seed)

    def add_subnetwork(self, project: str, region: str, name: str, cidr: str, network: str = "default") -> None:
        self._seeded(lambda: self._add_subnetwork(project, region, name, cidr, network))

    def _add_subnetwork(self, project: str, region: str, name: str, cidr: str, network: str) -> None:
        ref = Ref(project, f"regions/{region}", "subnetworks", name)
        if ref in self._res:
            return
        net = ipaddress.ip_network(cidr)
        net_ref = Ref(project, "global", "networks", network)
        self._store(ref, {"network": net_ref.url, "ipCidrRange": cidr, "gatewayAddress": str(net[1]),
                          "fingerprint": _fingerprint(), "stackType": "IPV4_ONLY", "purpose": "PRIVATE"})
        self._res[net_ref]["subnetworks"].append(ref.url)

    def add_instance(self, project: str, zone: str, name: str, *, tags: tuple[str, ...] | list[str] = (),
                     subnetwork: str = "default") -> Json:
        """A running VM (a node) with a primary internal IP from the zone's region subnetwork."""
        def seed() -> Json:
            ref = Ref(project, f"zones/{zone}", "instances", name)
            if ref in self._res:
                raise AlreadyExists(f"The resource '{ref.path}' already exists")
            region = self._region_of_zone(project, zone)
            sub = self._get(Ref(project, f"regions/{region}", "subnetworks", subnetwork))
            ip = self._allocate_internal(project, region, sub)
            return self._store(ref, {
                "status": "RUNNING", "machineType": f"{links.scope_url(project, ref.scope)}/machineTypes/e2-medium",
                "tags": {"items": list(tags), "fingerprint": _fingerprint()}, "fingerprint": _fingerprint(),
                "labelFingerprint": _fingerprint(), "canIpForward": False,
                "networkInterfaces": [{"kind": "compute#networkInterface", "name": "nic0", "network": sub["network"],
                                       "subnetwork": sub["selfLink"], "networkIP": ip,
                                       "fingerprint": _fingerprint(), "stackType": "IPV4_ONLY"}],
            })
        return dict(self._seeded(seed))

    def set_instance_status(self, project: str, zone: str, name: str, status: str) -> None:
        """Move a VM to another lifecycle state (``TERMINATED`` is a stopped VM, as the API says)."""
        def seed() -> None:
            self._get(Ref(project, f"zones/{zone}", "instances", name))["status"] = status
        self._seeded(seed)

    def remove_instance(self, project: str, zone: str, name: str) -> None:
        """Delete a VM; like Compute Engine, this also drops it from unmanaged instance groups."""
        def seed() -> None:
            ref = Ref(project, f"zones/{zone}", "instances", name)
            self._res.pop(ref, None)
            for members in self._members.values():
                if ref.url in members:
                    members.remove(ref.url)
        self._seeded(seed)

    def _region_of_zone(self, project: str, zone: str) -> str:
        for region, zones in self._project(project).regions.items():
            if zone in zones:
                return region
        raise NotFound(f"The resource 'projects/{project}/zones/{zone}' was not found")

    def _project(self, project: str) -> Project:
        p = self._projects.get(project)
        if p is None:
            raise NotFound(f"The resource 'projects/{project}' was not found")
        return p

    def _check_scope(self, project: str, scope: str) -> None:
        p = self._project(project)
        kind, _, where = scope.partition("/")
        if kind == "regions" and where not in p.regions:
            raise NotFound(f"The resource 'projects/{project}/regions/{where}' was not found")
        if kind == "zones" and not any(where in z for z in p.regions.values()):
            raise NotFound(f"The resource 'projects/{project}/zones/{where}' was not found")

    # ----------------------------------------------------------------- inventory

    def resources(self, *, include_seeded: bool = False) -> list[Json]:
        """Every resource held (for leak checks): selfLink, kind and, for groups, their members."""
        with self._lock:
            out = []
            for ref, res in self._res.items():
                if ref.collection in SEEDED and not include_seeded:
                    continue
                out.append(self._view(ref, res))
            return out

    def members(self, project: str, zone: str, name: str) -> list[str]:
        """An instance group's member URLs (for assertions; the API has listInstances)."""
        with self._lock:
            return list(self._members.get(Ref(project, f"zones/{zone}", "instanceGroups", name), []))

    # ----------------------------------------------------------------- storage helpers

    def _store(self, ref: Ref, body: Json) -> Json:
        res = dict(body)
        res.update(kind=KINDS[(scope_kind(ref.scope), ref.collection)], name=ref.name, id=str(next(self._ids)),
                   creationTimestamp=rfc3339(), selfLink=ref.url)
        if ref.scope.startswith("regions/"):
            res["region"] = links.scope_url(ref.project, ref.scope)
        elif ref.scope.startswith("zones/"):
            res["zone"] = links.scope_url(ref.project, ref.scope)
        if ref.collection in FINGERPRINTED:
            res["fingerprint"] = _fingerprint()
        if ref.collection == "instanceGroups":
            self._members.setdefault(ref, [])
        self._res[ref] = res
        return res

    def _get(self, ref: Ref) -> Json:
        res = self._res.get(ref)
        if res is None:
            raise NotFound(f"The resource '{ref.path}' was not found")
        return res

    def _view(self, ref: Ref, res: Json) -> Json:
        """The resource as the API shows it, with fields derived from other resources."""
        out = copy.deepcopy(res)
        if ref.collection == "addresses":
            users = [fr["selfLink"] for fr in self._address_users(ref, res)]
            out["status"] = "IN_USE" if users else "RESERVED"
            if users:
                out["users"] = users
        elif ref.collection == "instanceGroups":
            out["size"] = len(self._members.get(ref, []))
        elif ref.collection == "backendServices":
            users = [r["selfLink"] for k, r in self._res.items()
                     if k.collection == "forwardingRules" and r.get("backendService") == res["selfLink"]]
            if users:
                out["usedBy"] = [{"reference": u} for u in users]
        return out

    def _resolve(self, value: Any, project: str, field_path: str, collection: str | tuple[str, ...],
                 default_scope: str | None = None) -> Ref:
        """A reference in a body -> the Ref of an existing resource (``invalid``/``notFound`` otherwise)."""
        wanted = (collection,) if isinstance(collection, str) else collection
        ref = links.parse(str(value), project) if isinstance(value, str) else None
        if ref is None and isinstance(value, str) and default_scope and links.NAME_RE.match(value):
            ref = Ref(project, default_scope, wanted[0], value)
        if ref is None or ref.collection not in wanted:
            raise _bad(field_path, value, f"The URL is malformed or does not refer to a {'/'.join(wanted)} resource.")
        if ref not in self._res:
            raise NotFound(f"The resource '{ref.path}' was not found")
        return ref

    def _referrers(self, target: Ref) -> Iterator[Ref]:
        """Resources that refer to ``target`` (what makes deleting it fail)."""
        url = target.url
        for ref, res in self._res.items():
            if ref == target:
                continue
            if (ref.collection == "forwardingRules" and url in (res.get("backendService"), res.get("target"))) or (ref.collection == "backendServices" and (
                    url in res.get("healthChecks", []) or any(b.get("group") == url for b in res.get("backends", [])))):
                yield ref
        if target.collection == "addresses":
            for fr in self._address_users(target, self._res[target]):
                yield links.parse(fr["selfLink"], target.project) or target

    def _address_users(self, ref: Ref, address: Json) -> list[Json]:
        return [r for k, r in self._res.items()
                if k.collection == "forwardingRules" and k.project == ref.project and k.scope == ref.scope
                and r.get("IPAddress") == address.get("address")
                and (r.get("loadBalancingScheme") == "INTERNAL") == (address.get("addressType") == "INTERNAL")]

    def _check_quota(self, ref: Ref, body: Json) -> None:
        for metric, (collections, level, pred) in QUOTA_METRICS.items():
            if ref.collection not in collections or not pred(body):
                continue
            limit = self.config.quotas.get(metric)
            if limit is None:
                continue
            region = None
            if level == "region":
                region = (self._region_of_zone(ref.project, links.last(ref.scope))
                          if ref.scope.startswith("zones/") else links.last(ref.scope))
            used = sum(1 for k, r in self._res.items() if k.project == ref.project and k.collection in collections
                       and pred(r) and (region is None or self._region_key(k) == region))
            if used >= limit:
                raise quota_exceeded(metric, limit, region)

    def _region_key(self, ref: Ref) -> str | None:
        if ref.scope.startswith("regions/"):
            return links.last(ref.scope)
        if ref.scope.startswith("zones/"):
            return self._region_of_zone(ref.project, links.last(ref.scope))
        return None

    # ----------------------------------------------------------------- addressing

    def _ips_in_use(self, project: str) -> set[str]:
        used = set()
        for k, r in self._res.items():
            if k.collection in ("addresses", "forwardingRules"):
                ip = r.get("address") or r.get("IPAddress")
                if ip:
                    used.add(ip)
            elif k.collection == "instances":
                used.update(n.get("networkIP", "") for n in r.get("networkInterfaces", []))
        return used

    def _allocate_external(self, project: str) -> str:
        used = self._ips_in_use(project)
        for host in ipaddress.ip_network(self.config.external_cidr).hosts():
            if str(host) not in used and host.packed[-1] not in (0, 1, 255):
                return str(host)
        raise OperationError("IP_SPACE_EXHAUSTED", "The external IP pool of the emulator is exhausted.", 400)

    def _allocate_internal(self, project: str, region: str, subnet: Json) -> str:
        net = ipaddress.ip_network(subnet["ipCidrRange"])
        used = self._ips_in_use(project)
        for host in itertools.islice(net.hosts(), 1, net.num_addresses - 3):
            if str(host) not in used:
                return str(host)
        raise OperationError("IP_SPACE_EXHAUSTED", f"Subnetwork '{subnet['selfLink']}' has no free address.", 400)

    def _in_subnet(self, ip: str, subnet: Json) -> bool:
        net = ipaddress.ip_network(subnet["ipCidrRange"])
        addr = ipaddress.ip_address(ip)
        return addr in net and addr not in (net[0], net[1], net[-2], net[-1])

    # ----------------------------------------------------------------- generic API

    def get(self, project: str, scope: str, collection: str, name: str) -> Json:
        with self._lock:
            self._check_scope(project, scope)
            ref = Ref(project, scope, collection, name)
            return self._view(ref, self._get(ref))

    def list_collection(self, project: str, scope: str, collection: str, params: dict[str, str]) -> Json:
        with self._lock:
            self._check_scope(project, scope)
            items = [self._view(k, r) for k, r in self._res.items()
                     if k.project == project and k.scope == scope and k.collection == collection]
            chosen, token = page(items, params)
            return self._list_body(project, scope, collection, chosen, token)

    def _list_body(self, project: str, scope: str, collection: str, items: list[Json], token: str | None) -> Json:
        kind = KINDS[(scope_kind(scope), collection)] + "List"
        out: Json = {"kind": kind, "id": f"projects/{project}/{scope}/{collection}", "items": items,
                     "selfLink": f"{links.scope_url(project, scope)}/{collection}"}
        if token:
            out["nextPageToken"] = token
        return out

    def insert(self, project: str, scope: str, collection: str, body: Json,
               op_error: OperationError | None = None) -> Json:
        with self._lock:
            self._check_scope(project, scope)
            if collection in SEEDED:
                raise BadRequest(f"The emulator does not create {collection} through the API.")
            name = body.get("name")
            if not isinstance(name, str) or not links.NAME_RE.match(name):
                raise _bad("name", name, f"Must be a match of regex '{links.NAME_PATTERN}'")
            ref = Ref(project, scope, collection, name)
            if ref in self._res:
                raise AlreadyExists(f"The resource '{ref.path}' already exists")
            prepared = PREPARE[collection](self, ref, copy.deepcopy(body), None)
            error = op_error
            if error is None:
                try:
                    self._check_quota(ref, prepared)
                    if collection in ("addresses", "forwardingRules"):
                        self._assign_ip(ref, prepared)
                except OperationError as exc:
                    error = exc
            target_id = None
            if error is None:
                target_id = self._store(ref, prepared)["id"]
            return self.operations.start(project, scope, "insert", ref, target_id=target_id, error=error)

    def delete(self, project: str, scope: str, collection: str, name: str,
               op_error: OperationError | None = None) -> Json:
        with self._lock:
            self._check_scope(project, scope)
            ref = Ref(project, scope, collection, name)
            res = self._get(ref)
            if collection in SEEDED:
                raise BadRequest(f"The emulator does not delete {collection} through the API.")
            users = list(self._referrers(ref))
            if collection == "addresses" and len(users) == 1 and users[0].collection == "forwardingRules":
                users = []  # releasing the reservation: the one rule keeps the IP, now ephemeral
            user = users[0] if users else None
            if user is not None:
                raise ResourceInUse(f"The {collection[:-1]} resource '{ref.path}' is already being used by '{user.path}'")
            if op_error is None:
                del self._res[ref]
                self._members.pop(ref, None)
            return self.operations.start(project, scope, "delete", ref, target_id=res["id"], error=op_error)

    def update(self, project: str, scope: str, collection: str, name: str, body: Json, *,
               patch: bool, op_error: OperationError | None = None) -> Json:
        with self._lock:
            self._check_scope(project, scope)
            ref = Ref(project, scope, collection, name)
            current = self._get(ref)
            if collection in FINGERPRINTED and "fingerprint" in body and body["fingerprint"] != current["fingerprint"]:
                raise ConditionNotMet(f"Invalid fingerprint. The resource '{ref.path}' was changed since it was read.")
            if body.get("name", name) != name:
                raise _bad("name", body.get("name"), "The name of a resource cannot be changed.")
            new = merge_patch(current, body) if patch else {**body, "name": name}
            for keep in ("id", "creationTimestamp", "selfLink", "kind", "region", "zone"):
                if keep in current:
                    new[keep] = current[keep]
            prepared = PREPARE[collection](self, ref, new, current)
            if op_error is None:
                if collection in FINGERPRINTED:
                    prepared["fingerprint"] = _fingerprint()
                self._res[ref] = prepared
            return self.operations.start(project, scope, "patch" if patch else "update", ref, target_id=current["id"], error=op_error)

    # ----------------------------------------------------------------- instance groups

    def _group(self, project: str, zone: str, name: str) -> Ref:
        self._check_scope(project, f"zones/{zone}")
        ref = Ref(project, f"zones/{zone}", "instanceGroups", name)
        self._get(ref)
        return ref

    def _member_refs(self, group: Ref, body: Json) -> list[Ref]:
        refs = []
        for i, item in enumerate(body.get("instances") or []):
            ref = self._resolve(item.get("instance"), group.project, f"instances[{i}].instance", "instances")
            if ref.scope != group.scope:
                raise _bad(f"instances[{i}].instance", item.get("instance"),
                           "The instance must be in the zone of the instance group.")
            refs.append(ref)
        if not refs:
            raise Invalid("Invalid value for field 'resource.instances': ''. At least one instance is required.")
        return refs

    def add_instances(self, project: str, zone: str, name: str, body: Json,
                      op_error: OperationError | None = None) -> Json:
        with self._lock:
            group = self._group(project, zone, name)
            refs = self._member_refs(group, body)
            members = self._members[group]
            for ref in refs:
                if ref.url in members:
                    raise Invalid(f"Resource '{ref.path}' is already a member of '{group.path}' (memberAlreadyExists)")
            if op_error is None:
                members.extend(r.url for r in refs)
                self._res[group]["fingerprint"] = _fingerprint()
                self._res[group].setdefault("network", self._get(refs[0])["networkInterfaces"][0]["network"])
            return self.operations.start(project, group.scope, "addInstances", group, target_id=self._res[group]["id"], error=op_error)

    def remove_instances(self, project: str, zone: str, name: str, body: Json,
                         op_error: OperationError | None = None) -> Json:
        with self._lock:
            group = self._group(project, zone, name)
            members = self._members[group]
            urls = []
            for i, item in enumerate(body.get("instances") or []):
                ref = links.parse(str(item.get("instance")), project)
                if ref is None or ref.url not in members:
                    raise _bad(f"instances[{i}].instance", item.get("instance"),
                               f"The instance is not a member of '{group.path}' (memberNotFound)")
                urls.append(ref.url)
            if not urls:
                raise Invalid("Invalid value for field 'resource.instances': ''. At least one instance is required.")
            if op_error is None:
                for url in urls:
                    members.remove(url)
                self._res[group]["fingerprint"] = _fingerprint()
            return self.operations.start(project, group.scope, "removeInstances", group, target_id=self._res[group]["id"], error=op_error)

    def list_instances(self, project: str, zone: str, name: str, params: dict[str, str]) -> Json:
        with self._lock:
            group = self._group(project, zone, name)
            items = [{"instance": url, "status": "RUNNING"} for url in self._members[group]]
            for item in items:
                item["name"] = links.last(item["instance"])  # a filter on name works, as in the API
            chosen, token = page(items, params)
            for item in chosen:
                item.pop("name", None)
            out: Json = {"kind": "compute#instanceGroupsListInstances", "id": group.path, "items": chosen,
                         "selfLink": group.url + "/listInstances"}
            if token:
                out["nextPageToken"] = token
            return out

    # ----------------------------------------------------------------- regions and zones

    def get_region(self, project: str, region: str) -> Json:
        with self._lock:
            self._check_scope(project, f"regions/{region}")
            zones = self._project(project).regions[region]
            return {"kind": "compute#region", "id": str(zlib.crc32(region.encode())), "name": region,
                    "status": "UP", "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
                    "selfLink": links.scope_url(project, f"regions/{region}"),
                    "zones": [links.scope_url(project, f"zones/{z}") for z in zones]}

    def list_zones(self, project: str, params: dict[str, str]) -> Json:
        with self._lock:
            p = self._project(project)
            items = [{"kind": "compute#zone", "id": str(zlib.crc32(z.encode())), "name": z, "status": "UP",
                      "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
                      "region": links.scope_url(project, f"regions/{r}"),
                      "selfLink": links.scope_url(project, f"zones/{z}")}
                     for r, zones in p.regions.items() for z in zones]
            chosen, token = page(items, params)
            out: Json = {"kind": "compute#zoneList", "id": f"projects/{project}/zones", "items": chosen,
                         "selfLink": links.scope_url(project, "zones")}
            if token:
                out["nextPageToken"] = token
            return out

    # ----------------------------------------------------------------- IPs of addresses and rules

    def _assign_ip(self, ref: Ref, body: Json) -> None:
        """Fill an address's or forwarding rule's IP (allocation or the reserved one); enforce sharing."""
        region = links.last(ref.scope)
        internal = body.get("addressType", body.get("loadBalancingScheme")) == "INTERNAL"
        sub_ref = links.parse(body["subnetwork"], ref.project) if body.get("subnetwork") else None
        subnet = self._res.get(sub_ref) if sub_ref else None
        if ref.collection == "addresses":
            ip = body.get("address")
            if ip is None:
                body["address"] = (self._allocate_internal(ref.project, region, subnet or {})
                                   if internal else self._allocate_external(ref.project))
                return
            if any(k.collection == "addresses" and r.get("address") == ip for k, r in self._res.items()):
                raise _bad("address", ip, "Specified IP address is in-use and would result in a conflict.")
            if internal:
                if subnet is None or not self._in_subnet(ip, subnet):
                    raise _bad("address", ip, "Requested internal IP is outside the subnetwork CIDR range.")
            elif not any(k.collection == "forwardingRules" and k.scope == ref.scope and r.get("IPAddress") == ip
                         and r.get("loadBalancingScheme") != "INTERNAL" for k, r in self._res.items()):
                raise _bad("address", ip, "Specified IP address is not available (only an ephemeral IP held by a "
                                          "forwarding rule of this region can be promoted).")
            return
        ip = body.get("IPAddress")
        if ip is None:
            body["IPAddress"] = (self._allocate_internal(ref.project, region, subnet or {})
                                 if internal else self._allocate_external(ref.project))
            return
        addr_ref = links.parse(ip, ref.project)
        address = self._res.get(addr_ref) if addr_ref else None
        if addr_ref is not None:
            if address is None or addr_ref.collection != "addresses":
                raise NotFound(f"The resource '{addr_ref.path}' was not found")
            ip = body["IPAddress"] = address["address"]
        else:
            address = next((r for k, r in self._res.items() if k.collection == "addresses" and k.scope == ref.scope
                            and r.get("address") == ip), None)
        if address is not None:
            if (address.get("addressType") == "INTERNAL") != internal:
                raise _bad("IPAddress", ip, "The address type does not match the load balancing scheme.")
            if not internal and address.get("networkTier", "PREMIUM") != body.get("networkTier", "PREMIUM"):
                raise _bad("IPAddress", ip, f"The network tier of the address ({address.get('networkTier')}) does "
                                            f"not match the forwarding rule's ({body.get('networkTier')}).")
        elif not internal:
            raise _bad("IPAddress", ip, "Specified IP address is not reserved in this project and region.")
        elif subnet is None or not self._in_subnet(ip, subnet):
            raise _bad("IPAddress", ip, "Requested internal IP is outside the subnetwork CIDR range.")
        sharing = [r for k, r in self._res.items() if k.collection == "forwardingRules" and k.project == ref.project
                   and r.get("IPAddress") == ip]
        if not sharing:
            if address is None and ip in self._ips_in_use(ref.project):
                raise _bad("IPAddress", ip, "Specified IP address is in-use and would result in a conflict.")
            return
        shareable = address is not None and (not internal or address.get("purpose") == "SHARED_LOADBALANCER_VIP")
        if not shareable:
            raise _bad("IPAddress", ip, "IP address is already in use by another forwarding rule; sharing it needs a "
                                        "reserved address" + (" with purpose SHARED_LOADBALANCER_VIP." if internal else "."))
        mine = _port_set(body)
        for other in sharing:
            if other.get("IPProtocol") != body.get("IPProtocol"):
                continue
            theirs = _port_set(other)
            if mine is None or theirs is None or mine & theirs:
                raise _bad("IPAddress", ip, f"The forwarding rule's ports conflict with forwarding rule "
                                            f"'{other['selfLink']}' on the same IP and protocol.")


# --------------------------------------------------------------------------- per-collection rules
# Each ``prepare`` gets the (copied) body, the Ref and the current resource on update (None on
# insert), fills defaults the API fills, validates and returns the resource to store.


def _network(state: ComputeState, ref: Ref, body: Json, key: str = "network") -> None:
    value = body.get(key) or f"projects/{ref.project}/global/networks/default"
    body[key] = state._resolve(value, ref.project, key, "networks", "global").url


def _prepare_firewall(state: ComputeState, ref: Ref, body: Json, current: Json | None) -> Json:
    _network(state, ref, body)
    allowed, denied = body.get("allowed") or [], body.get("denied") or []
    if bool(allowed) == bool(denied):
        raise Invalid("Invalid value for field 'resource': ''. Exactly one of 'allowed' or 'denied' must be set.")
    for key, rules in (("allowed", allowed), ("denied", denied)):
        for i, rule in enumerate(rules):
            proto = str(rule.get("IPProtocol", "")).lower()
            if proto not in _FW_PROTOCOLS and not proto.isdigit():
                raise _bad(f"{key}[{i}].IPProtocol", rule.get("IPProtocol"), "Unsupported protocol.")
            for j, port in enumerate(rule.get("ports") or []):
                if proto not in _FW_PORT_PROTOCOLS:
                    raise _bad(f"{key}[{i}].ports[{j}]", port, "Ports may only be given for tcp, udp, sctp or all.")
                lo, _, hi = str(port).partition("-")
                if not (lo.isdigit() and (not hi or hi.isdigit()) and 0 <= int(lo) <= int(hi or lo) <= 65535):
                    raise _bad(f"{key}[{i}].ports[{j}]", port, "Must be a port number or range within 0-65535.")
    body.setdefault("direction", "INGRESS")
    body.setdefault("priority", 1000)
    body.setdefault("disabled", False)
    body.setdefault("logConfig", {"enable": False})
    if not 0 <= int(body["priority"]) <= 65535:
        raise _bad("priority", body["priority"], "Must be within 0-65535.")
    for key in ("sourceRanges", "destinationRanges"):
        for i, cidr in enumerate(body.get(key) or []):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise _bad(f"{key}[{i}]", cidr, "Must be a CIDR address range.") from None
        if len(body.get(key) or []) > 5000:
            raise _bad(key, "", "At most 5000 ranges are allowed.")
    if body["direction"] == "INGRESS" and not (body.get("sourceRanges") or body.get("sourceTags")
                                               or body.get("sourceServiceAccounts")):
        body["sourceRanges"] = ["0.0.0.0/0"]
    for i, tag in enumerate(body.get("targetTags") or []):
        if not links.NAME_RE.match(tag):
            raise _bad(f"targetTags[{i}]", tag, f"Must be a match of regex '{links.NAME_PATTERN}'")
    return body


def _prepare_health_check(state: ComputeState, ref: Ref, body: Json, current: Json | None) -> Json:
    kind = body.get("type")
    sub = _HC_TYPES.get(str(kind))
    if sub is None:
        raise _bad("type", kind, f"Must be one of {sorted(_HC_TYPES)}.")
    for other in _HC_TYPES.values():
        if other != sub:
            body.pop(other, None)
    spec = body.setdefault(sub, {})
    spec.setdefault("portSpecification", "USE_FIXED_PORT")
    spec.setdefault("proxyHeader", "NONE")
    if kind in ("HTTP", "HTTPS", "HTTP2"):
        spec.setdefault("requestPath", "/")
    spec.setdefault("port", {"HTTPS": 443, "SSL": 443, "GRPC": 443}.get(str(kind), 80))
    if not 1 <= int(spec["port"]) <= 65535:
        raise _bad(f"{sub}.port", spec["port"], "Must be within 1-65535.")
    for key, default in (("checkIntervalSec", 5), ("timeoutSec", 5), ("healthyThreshold", 2), ("unhealthyThreshold", 2)):
        body.setdefault(key, default)
    if body["timeoutSec"] > body["checkIntervalSec"]:
        raise _bad("timeoutSec", body["timeoutSec"], "Timeout sec must be less than or equal to check interval sec.")
    return body


def _external_tier(body: Json) -> None:
    """An external address or forwarding rule: Premium unless the request says Standard."""
    tier = body.setdefault("networkTier", "PREMIUM")
    if tier not in ("PREMIUM", "STANDARD"):
        raise _bad("networkTier", tier, "Must be PREMIUM or STANDARD.")


def _ip_defaults(body: Json) -> Json:
    """What Compute Engine fills in on an address or forwarding rule the request left out."""
    body.setdefault("ipVersion", "IPV4")
    body.setdefault("labelFingerprint", _fingerprint())
    return body


def _prepare_address(state: ComputeState, ref: Ref, body: Json, current: Json | None) -> Json:
    kind = body.setdefault("addressType", "EXTERNAL")
    if kind not in ("EXTERNAL", "INTERNAL"):
        raise _bad("addressType", kind, "Must be EXTERNAL or INTERNAL.")
    if kind == "INTERNAL":
        region = links.last(ref.scope)
        sub = state._resolve(body.get("subnetwork") or f"regions/{region}/subnetworks/default", ref.project,
                             "subnetwork", "subnetworks", ref.scope)
        body["subnetwork"] = sub.url
        body["purpose"] = body.get("purpose", "GCE_ENDPOINT")
        if body["purpose"] not in ("GCE_ENDPOINT", "SHARED_LOADBALANCER_VIP"):
            raise _bad("purpose", body["purpose"], "Unsupported purpose for an internal address.")
        if body.get("networkTier"):
            raise _bad("networkTier", body["networkTier"], "An internal address has no network tier.")
    else:
        if body.get("subnetwork") or body.get("purpose"):
            raise _bad("subnetwork", body.get("subnetwork"), "An external address takes no subnetwork or purpose.")
        _external_tier(body)
    return _ip_defaults(body)


def _prepare_forwarding_rule(state: ComputeState, ref: Ref, body: Json, current: Json | None) -> Json:
    if current is not None:
        changed = sorted(k for k in set(body) | set(current)
                         if k not in ("allowGlobalAccess", "fingerprint") and body.get(k) != current.get(k))
        if changed:
            raise _bad(changed[0], body.get(changed[0]), "A forwarding rule can only be patched in "
                                                         "'allowGlobalAccess'; delete and recreate it to change this.")
        if body.get("allowGlobalAccess") and current.get("loadBalancingScheme") != "INTERNAL":
            raise _bad("allowGlobalAccess", True, "Global access is only available to internal forwarding rules.")
        return body
    scheme = body.setdefault("loadBalancingScheme", "EXTERNAL")
    if scheme not in _PASSTHROUGH_SCHEMES:
        raise _bad("loadBalancingScheme", scheme, "The emulator serves passthrough (EXTERNAL/INTERNAL) rules only.")
    proto = body.setdefault("IPProtocol", "TCP")
    if proto not in _FR_PROTOCOLS:
        raise _bad("IPProtocol", proto, f"Must be one of {list(_FR_PROTOCOLS)} for a passthrough load balancer.")
    if body.get("target"):
        raise _bad("target", body["target"], "Target pools are not emulated; use a regional backend service.")
    bs_ref = state._resolve(body.get("backendService"), ref.project, "backendService", "backendServices", ref.scope)
    if bs_ref.scope != ref.scope:
        raise _bad("backendService", body["backendService"], "The backend service must be in the rule's region.")
    bs = state._get(bs_ref)
    body["backendService"] = bs_ref.url
    if bs.get("loadBalancingScheme") != scheme:
        raise _bad("loadBalancingScheme", scheme,
                   f"The backend service's scheme is {bs.get('loadBalancingScheme')}; they must match.")
    bs_proto = bs.get("protocol")
    if bs_proto not in ("UNSPECIFIED", proto):
        raise _bad("IPProtocol", proto, f"The backend service's protocol is {bs_proto}; the rule's must match it.")
    given = [k for k in ("ports", "portRange", "allPorts") if body.get(k)]
    if len(given) > 1:
        raise _bad(given[1], body[given[1]], "Only one of ports, portRange and allPorts may be set.")
    if proto == "L3_DEFAULT" and given != ["allPorts"]:
        raise _bad("allPorts", body.get("allPorts"), "An L3_DEFAULT rule must set allPorts.")
    if not given:
        raise _bad("ports", "", "One of ports, portRange or allPorts is required.")
    ports = body.get("ports") or []
    if len(ports) > 5:
        raise _bad("ports", ",".join(ports), "A forwarding rule takes at most 5 ports; use portRange or allPorts.")
    for i, p in enumerate(ports):
        if not (str(p).isdigit() and 1 <= int(p) <= 65535):
            raise _bad(f"ports[{i}]", p, "Must be a port number within 1-65535.")
    if len(set(ports)) != len(ports):
        raise _bad("ports", ",".join(ports), "Ports must be unique.")
    if body.get("portRange"):
        lo, _, hi = str(body["portRange"]).partition("-")
        if not (lo.isdigit() and (not hi or hi.isdigit()) and 1 <= int(lo) <= int(hi or lo) <= 65535):
            raise _bad("portRange", body["portRange"], "Must be PORT or LOW-HIGH within 1-65535.")
    if scheme == "INTERNAL":
        region = links.last(ref.scope)
        sub = state._resolve(body.get("subnetwork") or f"regions/{region}/subnetworks/default", ref.project,
                             "subnetwork", "subnetworks", ref.scope)
        body["subnetwork"] = sub.url
        body["network"] = state._get(sub)["network"]
        if body.get("networkTier"):
            raise _bad("networkTier", body["networkTier"], "An internal forwarding rule has no network tier.")
    else:
        for key in ("subnetwork", "network"):
            if body.get(key):
                raise _bad(key, body[key], "An external passthrough forwarding rule takes no network or subnetwork.")
        if body.get("allowGlobalAccess"):
            raise _bad("allowGlobalAccess", True, "Global access is only available to internal forwarding rules.")
        _external_tier(body)
    return _ip_defaults(body)


def _prepare_backend_service(state: ComputeState, ref: Ref, body: Json, current: Json | None) -> Json:
    scheme = body.get("loadBalancingScheme")
    if scheme not in _PASSTHROUGH_SCHEMES:
        raise _bad("loadBalancingScheme", scheme, "The emulator serves passthrough (EXTERNAL/INTERNAL) backend "
                                                  "services only.")
    if current is not None and current.get("loadBalancingScheme") != scheme:
        raise _bad("loadBalancingScheme", scheme, "The load balancing scheme of a backend service cannot change.")
    proto = body.setdefault("protocol", "TCP")
    if proto not in _BS_PROTOCOLS:
        raise _bad("protocol", proto, f"Must be one of {list(_BS_PROTOCOLS)} for a passthrough load balancer.")
    if current is not None:
        for fr in state._res.values():
            if fr.get("backendService") == ref.url and fr.get("IPProtocol") != proto and proto != "UNSPECIFIED":
                raise _bad("protocol", proto, f"Forwarding rule '{fr['selfLink']}' uses protocol "
                                              f"{fr.get('IPProtocol')}.")
    checks = body.get("healthChecks") or []
    if len(checks) != 1:
        raise _bad("healthChecks", ",".join(checks), "A passthrough backend service takes exactly one health check.")
    hc = state._resolve(checks[0], ref.project, "healthChecks[0]", "healthChecks", ref.scope)
    if scheme == "EXTERNAL" and hc.scope != ref.scope:
        raise _bad("healthChecks[0]", checks[0], "An external passthrough backend service needs a regional health "
                                                 "check in its region.")
    if hc.scope not in ("global", ref.scope):
        raise _bad("healthChecks[0]", checks[0], "The health check must be global or in the backend's region.")
    body["healthChecks"] = [hc.url]
    region = links.last(ref.scope)
    seen = set()
    for i, backend in enumerate(body.get("backends") or []):
        group = state._resolve(backend.get("group"), ref.project, f"backends[{i}].group", "instanceGroups")
        if state._region_of_zone(ref.project, links.last(group.scope)) != region:
            raise _bad(f"backends[{i}].group", backend.get("group"), "The instance group must be in the region.")
        if group.url in seen:
            raise _bad(f"backends[{i}].group", backend.get("group"), "Duplicate backend group.")
        seen.add(group.url)
        backend["group"] = group.url
        backend.setdefault("balancingMode", "UTILIZATION")
        if backend["balancingMode"] != "CONNECTION":
            raise _bad(f"backends[{i}].balancingMode", backend["balancingMode"],
                       f"Balancing mode must be CONNECTION for an {scheme} backend service.")
    affinity = body.setdefault("sessionAffinity", "NONE")
    if affinity not in _AFFINITIES:
        raise _bad("sessionAffinity", affinity, "Unsupported session affinity for a passthrough load balancer.")
    if scheme == "INTERNAL" and body.get("network"):
        _network(state, ref, body)
    body.setdefault("timeoutSec", 30)
    body.setdefault("connectionDraining", {"drainingTimeoutSec": 0})
    return body


def _prepare_instance_group(state: ComputeState, ref: Ref, body: Json, current: Json | None) -> Json:
    if body.get("network"):
        _network(state, ref, body)
    for i, port in enumerate(body.get("namedPorts") or []):
        if not (links.NAME_RE.match(str(port.get("name", ""))) and 1 <= int(port.get("port", 0)) <= 65535):
            raise _bad(f"namedPorts[{i}]", port, "A named port needs a name and a port within 1-65535.")
    return body


PREPARE: dict[str, Callable[[ComputeState, Ref, Json, Json | None], Json]] = {
    "firewalls": _prepare_firewall,
    "healthChecks": _prepare_health_check,
    "addresses": _prepare_address,
    "forwardingRules": _prepare_forwarding_rule,
    "backendServices": _prepare_backend_service,
    "instanceGroups": _prepare_instance_group,
}

__all__ = ["ComputeState", "Config", "GoogleError", "merge_patch"]
