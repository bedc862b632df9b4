"""``OpenStackEmulator``: the OpenStack emulator as one object tests and ``ccm demo`` hold.

    emu = OpenStackEmulator().start()                # 127.0.0.1, ephemeral port, a standard world
    emu.add_server("node-1")                         # a Nova server with a port on the node subnet
    conn = openstack.connection.Connection(auth_url=emu.auth_url, **emu.credentials())
    emu.faults.conflict_storm(3)                     # fault injection, in process
    emu.octavia_settings.hold = True                 # keep jobs pending (409 paths)
    emu.resources()                                  # everything API calls made, for leak checks
    emu.reset()                                      # between tests (back to the baseline world)

``validate=True`` also checks each create/update body against openstacksdk's resource definitions
(``sdkcheck``): every attribute the SDK does not define is recorded in ``schema_violations`` (the
answer stays the service's own: Octavia and Neutron refuse attributes they do not know, and
accept the few they know that the SDK does not model).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from emulators.httpserver import HttpEmulator
from emulators.openstack import api_identity, api_neutron, api_nova, api_octavia, wire
from emulators.openstack.cloud import Cloud, Seed
from emulators.openstack.errors import ApiError, BadRequest, NotFound
from emulators.openstack.faults import Decision, Fault, Faults
from emulators.openstack.ids import new_uuid
from emulators.openstack.octavia import Octavia, Settings
from emulators.openstack.routes import Request, Route, Table

Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One API call as the emulator saw it (for call counts and assertions)."""

    action: str
    method: str
    path: str
    mutating: bool
    status: int


class OpenStackEmulator(HttpEmulator):
    thread_name = "openstack-emulator"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, validate: bool = False, seed: int = 0,
                 region: str = "RegionOne", node_cidr: str = "10.0.0.0/24",
                 external_cidr: str = "172.24.4.0/24") -> None:
        self.cloud, self.seed = Cloud.standard(region=region, node_cidr=node_cidr, external_cidr=external_cidr)
        self.cloud.baseline()
        self.faults = Faults(seed=seed)
        self.table = Table([*api_identity.ROUTES, *api_octavia.ROUTES, *api_neutron.ROUTES, *api_nova.ROUTES])
        self.calls: list[Call] = []
        self.schema_violations: list[str] = []
        self.lock = threading.RLock()
        self._checker = None
        if validate:
            from emulators.openstack.sdkcheck import SdkChecker

            self._checker = SdkChecker()
        super().__init__(host, port)

    def handler_class(self) -> type[wire.Handler]:
        return wire.Handler

    @property
    def auth_url(self) -> str:
        """Keystone's endpoint, what ``auth-url`` in cloud.conf names."""
        return f"{self.url}/identity/v3"

    def credentials(self, *, application_credential: bool = False) -> Json:
        """openstacksdk ``Connection`` keyword arguments for the seeded user (or its application credential)."""
        if application_credential:
            cred = self.seed.app_credential
            return {"auth_type": "v3applicationcredential", "application_credential_id": cred.id,
                    "application_credential_secret": cred.secret, "region_name": self.seed.region}
        return {"username": self.seed.user.name, "password": self.seed.password,
                "project_name": self.seed.project.name, "user_domain_name": "Default",
                "project_domain_name": "Default", "region_name": self.seed.region}

    def cloud_conf(self, *, application_credential: bool = False, **load_balancer: str) -> str:
        """A cloud-provider-openstack ``cloud.conf`` for this emulator (``[Global]`` + ``[LoadBalancer]``)."""
        if application_credential:
            cred = self.seed.app_credential
            glob = [f"application-credential-id = {cred.id}", f"application-credential-secret = {cred.secret}"]
        else:
            glob = [f"username = {self.seed.user.name}", f"password = {self.seed.password}",
                    f"tenant-name = {self.seed.project.name}", "domain-name = Default"]
        lb = {"subnet-id": self.seed.subnet_id, "floating-network-id": self.seed.external_network_id,
              **{k.replace("_", "-"): v for k, v in load_balancer.items()}}
        lines = ["[Global]", f"auth-url = {self.auth_url}", f"region = {self.seed.region}", *glob, "",
                 "[LoadBalancer]", *(f"{k} = {v}" for k, v in lb.items())]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ world

    @property
    def octavia(self) -> Octavia:
        return self.cloud.octavia

    @property
    def octavia_settings(self) -> Settings:
        return self.cloud.octavia.settings

    def add_server(self, name: str, *, ip: str | None = None, status: str = "ACTIVE", subnet_id: str | None = None,
                   flavor: str = "m1.small", availability_zone: str = "nova",
                   metadata: dict[str, str] | None = None) -> Json:
        with self.lock:
            return self.cloud.compute.add_server(
                self.cloud.network, self.seed.project.id, name, subnet_id=subnet_id or self.seed.subnet_id, ip=ip,
                status=status, flavor=flavor, availability_zone=availability_zone, metadata=metadata)

    def remove_server(self, server_id: str) -> None:
        with self.lock:
            self.cloud.compute.remove_server(self.cloud.network, server_id)

    def set_server_status(self, server_id: str, status: str) -> None:
        with self.lock:
            self.cloud.compute.set_status(server_id, status)

    def add_subnet(self, cidr: str, *, name: str = "extra-subnet", external: bool = False,
                   routed: bool = True) -> Json:
        """A new network with one subnet (an external one for floating IPs with ``external``)."""
        with self.lock:
            project = "admin" if external else self.seed.project.id
            net = self.cloud.network.create("networks", project, {"name": f"{name}-net", "router:external": external})
            subnet = self.cloud.network.create("subnets", project, {"name": name, "network_id": net["id"],
                                                                    "cidr": cidr, "ip_version": 4})
            if external and routed:
                self.cloud.network.connect(net["id"], self.seed.subnet_id)
            elif routed:
                self.cloud.network.connect(self.seed.external_network_id, subnet["id"])
            return subnet

    def add_octavia_flavor(self, name: str, *, enabled: bool = True) -> Json:
        with self.lock:
            row: Json = {"id": new_uuid(), "name": name, "description": "", "enabled": enabled,
                   "flavor_profile_id": new_uuid()}
            self.cloud.octavia.flavors[row["id"]] = row
            return row

    def add_availability_zone(self, name: str) -> None:
        with self.lock:
            self.cloud.octavia.availability_zones[name] = {"name": name, "description": "", "enabled": True,
                                                           "availability_zone_profile_id": new_uuid()}

    def add_tls_container(self, ref: str) -> None:
        """A Barbican container reference Octavia accepts (there is no Barbican here)."""
        with self.lock:
            self.cloud.octavia.tls_refs.add(ref)

    def set_quota(self, service: str, project: str | None = None, **limits: int) -> None:
        """``service``: ``octavia`` (load_balancer, listener, pool, member, health_monitor) or ``neutron``."""
        project = project or self.seed.project.id
        with self.lock:
            if service == "octavia":
                self.cloud.octavia.set_quota(project, limits)
            else:
                self.cloud.network.quotas.setdefault(project, {}).update(limits)

    def settle(self) -> None:
        """Complete every pending Octavia job now (ignores ``hold``)."""
        with self.lock:
            self.cloud.octavia.settle_all()

    def baseline(self) -> None:
        """``reset`` comes back to the world as it is now (after adding servers, say)."""
        with self.lock:
            self.cloud.baseline()

    def reset(self) -> None:
        """Back to the baseline world: no API-made resources, no faults, no calls recorded; tokens stay valid."""
        with self.lock:
            self.cloud.reset()
            self.faults.clear()
            self.calls.clear()
            self.schema_violations.clear()

    def resources(self, *, include_seeded: bool = False) -> list[Json]:
        with self.lock:
            return self.cloud.resources(include_seeded=include_seeded)

    def mutating_calls(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.mutating]

    def call_counts(self) -> Counter[str]:
        with self.lock:
            return Counter(c.action for c in self.calls)

    # ------------------------------------------------------------------ serving

    def serve(self, route: Route, params: dict[str, str], *, query: dict[str, list[str]], body: Any,
              headers: Mapping[str, str], path: str) -> tuple[int, Any, dict[str, str]]:
        """Answer one call: faults, then authentication, then the handler under the state lock.

        ``headers`` has lower-case names.
        """
        decision = self.faults.decide(route.action, route.mutating)
        self.faults.wait(decision)
        with self.lock:
            req = Request(self.cloud, params, query, body, headers, self.url, path)
            try:
                status, out, out_headers = self._serve(route, req, decision)
            except ApiError as exc:
                status, out, out_headers = exc.status, exc.render(route.service), exc.headers
            self.calls.append(Call(route.action, route.method, path, route.mutating, status))
        return status, out, out_headers

    def _serve(self, route: Route, req: Request, decision: Decision) -> tuple[int, Any, dict[str, str]]:
        if decision.before is not None:
            raise decision.before
        if route.auth:
            req.token = self.cloud.identity.check(req.headers.get("x-auth-token"))
        body = req.body
        if self._checker is not None and route.mutating and body is not None:
            self.schema_violations.extend(f"{route.action}: {p}" for p in self._checker.check(route.action, body))
        octavia = self.cloud.octavia
        if route.service == "load-balancer":
            octavia.settle_due()
        armed = octavia.error_next
        if decision.provisioning_error:
            octavia.error_next += 1
        try:
            reply = route.handler(req)
        except ApiError:
            octavia.error_next = armed
            raise
        after = decision.after or self.faults.applied(route.action, route.mutating, reply.status)
        if after is not None:
            raise after
        return reply.status, reply.body, reply.headers

    # ------------------------------------------------------------------ admin API (``/_emulator/``)

    def admin(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """``GET resources|calls|seed``, ``POST reset|settle|servers|faults|quotas|tls-containers``,
        ``DELETE faults``, ``DELETE servers/<id>``, ``POST servers/<id>/status {status}``."""
        body = body if isinstance(body, dict) else {}
        try:
            if (method, path) == ("GET", "resources"):
                return 200, {"items": self.resources(include_seeded=True)}
            if (method, path) == ("GET", "calls"):
                with self.lock:
                    return 200, {"items": [asdict(c) for c in self.calls]}
            if (method, path) == ("GET", "seed"):
                return 200, self.seed_info()
            if (method, path) == ("POST", "reset"):
                self.reset()
                return 200, {}
            if (method, path) == ("POST", "settle"):
                self.settle()
                return 200, {}
            if (method, path) == ("POST", "servers"):
                return 201, self.add_server(body["name"], ip=body.get("ip"), status=body.get("status", "ACTIVE"))
            if method == "DELETE" and path.startswith("servers/"):
                self.remove_server(path.split("/", 1)[1])
                return 204, None
            if method == "POST" and path.startswith("servers/") and path.endswith("/status"):
                self.set_server_status(path.split("/")[1], body["status"])
                return 200, {}
            if (method, path) == ("POST", "faults"):
                self.faults.add(Fault(**{k: v for k, v in body.items() if k not in ("seen", "hits")}))
                return 201, {}
            if (method, path) == ("DELETE", "faults"):
                self.faults.clear()
                return 204, None
            if (method, path) == ("POST", "quotas"):
                self.set_quota(body["service"], body.get("project"), **body.get("limits", {}))
                return 200, {}
            if (method, path) == ("POST", "tls-containers"):
                self.add_tls_container(body["ref"])
                return 201, {}
            raise NotFound(f"No admin endpoint {method} /_emulator/{path}")
        except (KeyError, TypeError, ValueError) as exc:
            err = BadRequest(f"Bad admin request: {exc}")
            return err.status, err.render("load-balancer")
        except ApiError as exc:
            return exc.status, exc.render("load-balancer")

    def seed_info(self) -> Json:
        seed: Seed = self.seed
        return {"auth_url": self.auth_url, "region": seed.region, "project_id": seed.project.id,
                "project_name": seed.project.name, "username": seed.user.name, "password": seed.password,
                "application_credential_id": seed.app_credential.id,
                "application_credential_secret": seed.app_credential.secret, "network_id": seed.network_id,
                "subnet_id": seed.subnet_id, "floating_network_id": seed.external_network_id,
                "floating_subnet_id": seed.external_subnet_id}
