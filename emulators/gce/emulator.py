"""``GceEmulator``: the Compute Engine emulator as one object tests and ``ccm demo`` hold.

    emu = GceEmulator(); emu.start()                 # 127.0.0.1, ephemeral port
    emu.add_project("proj", "us-central1", ["us-central1-a", "us-central1-b"])
    emu.add_instance("proj", "us-central1-a", "node-1", tags=["k8s-node"])
    ... compute_v1.ForwardingRulesClient(client_options={"api_endpoint": emu.url}, ...) ...
    emu.faults.fail_nth_mutation(3)                  # fault injection, in process
    emu.resources()                                  # everything held, for leak checks
    emu.reset()                                      # between tests (keeps the seeded world)

``validate=True`` checks every request and response against the discovery document (needs
google-api-python-client); a bad request is answered like the API answers it (400 ``invalid``),
a bad response is recorded in ``schema_violations`` for the test to assert empty.
"""

from __future__ import annotations

import threading
from typing import Any

from emulators.gce import wire
from emulators.gce.errors import GoogleError, Invalid, NotFound
from emulators.gce.faults import Fault, Faults
from emulators.gce.operations import Operations, OperationSettings
from emulators.gce.routes import Route
from emulators.gce.state import ComputeState, Config
from emulators.httpserver import HttpEmulator

Json = dict[str, Any]


class GceEmulator(HttpEmulator):
    thread_name = "gce-emulator"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, validate: bool = False,
                 config: Config | None = None, seed: int = 0) -> None:
        self.state = ComputeState(config, Operations())
        self.faults = Faults(seed=seed)
        self.calls: list[wire.Call] = []
        self.schema_violations: list[str] = []
        self._calls_lock = threading.Lock()
        self._validator = None
        if validate:
            from emulators.gce.discovery import Validator

            self._validator = Validator()
        super().__init__(host, port)

    def handler_class(self) -> type[wire.Handler]:
        """``url`` is the endpoint for ``client_options={"api_endpoint": url}`` (google-cloud-compute)."""
        return wire.Handler

    # ------------------------------------------------------------------ world and inspection

    def add_project(self, project: str, region: str, zones: list[str] | tuple[str, ...],
                    subnet_cidr: str = "10.128.0.0/20") -> None:
        self.state.add_project(project, region, tuple(zones), subnet_cidr)

    def add_instance(self, project: str, zone: str, name: str, *, tags: list[str] | tuple[str, ...] = ()) -> Json:
        return self.state.add_instance(project, zone, name, tags=tags)

    def remove_instance(self, project: str, zone: str, name: str) -> None:
        self.state.remove_instance(project, zone, name)

    def set_instance_status(self, project: str, zone: str, name: str, status: str) -> None:
        self.state.set_instance_status(project, zone, name, status)

    def add_subnetwork(self, project: str, region: str, name: str, cidr: str) -> None:
        self.state.add_subnetwork(project, region, name, cidr)

    def baseline(self) -> None:
        """``reset`` returns to the world as it is now: later projects, instances, subnets are undone."""
        self.state.baseline()

    def resources(self, *, include_seeded: bool = False) -> list[Json]:
        return self.state.resources(include_seeded=include_seeded)

    def members(self, project: str, zone: str, group: str) -> list[str]:
        """The instance URLs an instance group holds (for assertions)."""
        return self.state.members(project, zone, group)

    def reset(self) -> None:
        """Back to the seeded world: no API-made resources, no faults, no calls recorded."""
        self.state.reset()
        self.faults.clear()
        with self._calls_lock:
            self.calls.clear()
            self.schema_violations.clear()
        self.state.operations.settings = OperationSettings()

    def mutating_calls(self) -> list[wire.Call]:
        with self._calls_lock:
            return [c for c in self.calls if c.mutating]

    # ------------------------------------------------------------------ serving

    def serve(self, route: Route, params: dict[str, str], query: dict[str, str], body: Any) -> tuple[int, Any]:
        status, out = self._serve(route, params, query, body)
        with self._calls_lock:
            self.calls.append(wire.Call(route.method_id, route.mutating, status))
        return status, out

    def _serve(self, route: Route, params: dict[str, str], query: dict[str, str], body: Any) -> tuple[int, Any]:
        try:
            if self._validator is not None:
                problems = (self._validator.check_params(route.method_id, params, query)
                            + self._validator.check_request(route.method_id, body))
                if problems:
                    raise Invalid(f"Invalid request to {route.method_id}: " + "; ".join(problems))
            decision = self.faults.decide(route.method_id, route.mutating)
            self.faults.apply_latency(decision)
            if decision.before is not None:
                raise decision.before
            out = route.handler(self.state, params, query, body or {}, decision.operation_error)
            after = decision.after or self.faults.applied(route.method_id, route.mutating, 200)
            if after is not None:
                raise after
        except GoogleError as exc:
            return exc.status, exc.body()
        if self._validator is not None:
            problems = self._validator.check_response(route.method_id, out)
            if problems:
                with self._calls_lock:
                    self.schema_violations.extend(f"{route.method_id}: {p}" for p in problems)
        return 200, ({} if out is None else out)

    def admin(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """``/_emulator/``: ``GET resources``, ``POST reset``, ``POST projects``, ``POST|DELETE instances``,
        ``POST|DELETE faults``, ``GET calls``."""
        body = body or {}
        try:
            if (method, path) == ("GET", "resources"):
                return 200, {"items": self.resources(include_seeded=True)}
            if (method, path) == ("GET", "calls"):
                with self._calls_lock:
                    return 200, {"items": [c.__dict__ for c in self.calls]}
            if (method, path) == ("POST", "reset"):
                self.reset()
                return 200, {}
            if (method, path) == ("POST", "projects"):
                self.add_project(body["project"], body["region"], body["zones"], body.get("subnetCidr", "10.128.0.0/20"))
                return 200, {}
            if (method, path) == ("POST", "instances"):
                return 200, self.add_instance(body["project"], body["zone"], body["name"], tags=body.get("tags", ()))
            if (method, path) == ("DELETE", "instances"):
                self.remove_instance(body["project"], body["zone"], body["name"])
                return 200, {}
            if (method, path) == ("POST", "faults"):
                self.faults.add(Fault(**{k: v for k, v in body.items() if k not in ("seen", "hits")}))
                return 200, {}
            if (method, path) == ("DELETE", "faults"):
                self.faults.clear()
                return 200, {}
            raise NotFound(f"No admin endpoint {method} /_emulator/{path}")
        except (KeyError, TypeError) as exc:
            err = Invalid(f"Bad admin request: {exc}")
            return err.status, err.body()
        except GoogleError as exc:
            return exc.status, exc.body()
