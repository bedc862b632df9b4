"""The emulated cloud's state: one Keystone, Neutron, Nova and Octavia, seeded and reset together.

``Cloud.standard`` seeds what a Kubernetes cluster on OpenStack has before a cloud controller runs:
a project and a user (plus an application credential), a tenant network with a node subnet, an
external network with a floating-IP subnet routed to the node subnet, and nothing else. Servers
(``add_server``) are added by the owner. ``baseline``/``reset`` snapshot and restore everything but
the tokens already handed out, so a client stays logged in across tests.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from emulators.openstack.compute import Compute
from emulators.openstack.identity import AppCredential, Identity, Project, User
from emulators.openstack.network import Network
from emulators.openstack.octavia import KINDS, Octavia

Json = dict[str, Any]


@dataclass
class Seed:
    """What ``Cloud.standard`` made (ids a test or ``ccm demo`` needs)."""

    project: Project
    user: User
    password: str
    app_credential: AppCredential
    network_id: str
    subnet_id: str
    external_network_id: str
    external_subnet_id: str
    region: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Cloud:
    identity: Identity = field(default_factory=Identity)
    network: Network = field(default_factory=Network)
    compute: Compute = field(default_factory=Compute)
    octavia: Octavia = field(init=False)

    def __post_init__(self) -> None:
        self.octavia = Octavia(self.network)
        self._baseline: tuple[Any, ...] | None = None

    @classmethod
    def standard(cls, *, region: str = "RegionOne", project: str = "k8s", user: str = "ccm",
                 password: str = "secret", node_cidr: str = "10.0.0.0/24",
                 external_cidr: str = "172.24.4.0/24") -> tuple[Cloud, Seed]:
        cloud = cls(identity=Identity(region=region))
        proj = cloud.identity.add_project(project)
        usr = cloud.identity.add_user(user, password)
        cred = cloud.identity.add_app_credential(usr.id, proj.id)
        net = cloud.network.create("networks", proj.id, {"name": f"{project}-net"})
        subnet = cloud.network.create("subnets", proj.id, {"name": f"{project}-subnet", "network_id": net["id"],
                                                           "cidr": node_cidr, "ip_version": 4})
        ext = cloud.network.create("networks", "admin", {"name": "public", "router:external": True})
        ext_subnet = cloud.network.create("subnets", "admin", {"name": "public-subnet", "network_id": ext["id"],
                                                               "cidr": external_cidr, "ip_version": 4})
        cloud.network.connect(ext["id"], subnet["id"])
        seed = Seed(proj, usr, password, cred, net["id"], subnet["id"], ext["id"], ext_subnet["id"], region)
        return cloud, seed

    # -- snapshot ------------------------------------------------------------------------------------

    def _state(self) -> tuple[Any, ...]:
        ident = self.identity
        return (copy.deepcopy((ident.users, ident.projects, ident.app_credentials, ident.domains)),
                copy.deepcopy((self.network, self.compute, self.octavia)))

    def baseline(self) -> None:
        """``reset`` comes back to the state as it is now."""
        self._baseline = self._state()

    def reset(self) -> None:
        if self._baseline is None:
            raise RuntimeError("no baseline recorded: call baseline() once the world is seeded")
        (users, projects, creds, domains), (network, compute, octavia) = copy.deepcopy(self._baseline)
        self.identity.users, self.identity.projects = users, projects
        self.identity.app_credentials, self.identity.domains = creds, domains
        self.network, self.compute, self.octavia = network, compute, octavia

    # -- inventory -----------------------------------------------------------------------------------

    def resources(self, *, include_seeded: bool = False) -> list[Json]:
        """Every object held, as ``{service, kind, id, name, project_id, tags, status}``.

        Without ``include_seeded`` the objects present at ``baseline`` (networks, subnets, servers
        and their ports, default security groups) are left out: what remains is what API calls made.
        """
        seeded: set[str] = set()
        if self._baseline is not None and not include_seeded:
            network, compute, octavia = self._baseline[1]
            seeded = {i for rows in network.collections.values() for i in rows}
            seeded |= set(compute.servers) | {i for rows in octavia.objects.values() for i in rows}
        out: list[Json] = []
        for collection, rows in self.network.collections.items():
            for row in rows.values():
                if row["id"] in seeded or (collection == "security_groups" and row["name"] == "default"):
                    continue
                if collection == "security_group_rules" and row.get("belongs_to_default_sg"):
                    continue
                out.append(_entry("neutron", collection, row))
        for kind in KINDS:
            for row in self.octavia.objects[kind].values():
                if row["id"] not in seeded:
                    out.append(_entry("octavia", kind, row, status=row["provisioning_status"]))
        if include_seeded:
            for row in self.compute.servers.values():
                out.append(_entry("nova", "servers", {**row, "project_id": row["tenant_id"]}, status=row["status"]))
        return out


def _entry(service: str, kind: str, row: Json, status: str | None = None) -> Json:
    return {"service": service, "kind": kind, "id": row["id"], "name": row.get("name", ""),
            "project_id": row.get("project_id"), "tags": list(row.get("tags") or []),
            "status": status if status is not None else row.get("status")}
