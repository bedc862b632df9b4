"""The API-faults rig: the service controller (fake cloud) against an embedded API that misbehaves.

Shared by tests/reliability/test_api_faults.py (small sizes, assertions) and
bench/reliability.py api (bigger sizes, printed figures). Each scenario changes Services
while the API drops watches, expires resume points (410), restarts, or restarts having lost
its history, then waits for convergence and reports:

* ``lost``: Services whose load balancer does not match their spec after convergence;
* ``extra_ensures``: ensure calls beyond one per real change (a re-ensure storm shows here);
* ``stale``: objects whose cached copy in the controller's informer differs from the API's
  (missing, extra, or at another resourceVersion);
* ``relists`` / ``too_large_relists``: how the informer recovered.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ccm.apiserver.server import APIServer
from ccm.apiserver.testing import EmbeddedAPIServer, embedded_apiserver
from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.kube.client import RawClient
from providers.fake import FakeCloud
from tests.util import wait_for

SERVICES = "/api/v1/namespaces/default/services"
NODES = "/api/v1/nodes"


@dataclasses.dataclass
class Outcome:
    scenario: str
    services: int
    changes: int
    ensures: int
    extra_ensures: int
    lost: int
    stale: int
    relists: int
    too_large_relists: int
    seconds: float

    def row(self) -> str:
        return (f"| {self.scenario} | {self.services} | {self.changes} | {self.ensures} | {self.extra_ensures} | "
                f"{self.lost} | {self.stale} | {self.relists} | {self.too_large_relists} | {self.seconds:.1f} |")


HEADER = ("| scenario | services | changes | ensure calls | extra ensures | lost updates | stale cache | "
          "relists | too-large relists | seconds |\n|---|---|---|---|---|---|---|---|---|---|")


class Rig:
    """One API server, one controller manager on the fake cloud, ``n`` LoadBalancer Services."""

    def __init__(self, server: EmbeddedAPIServer, n: int) -> None:
        self.server = server
        self.cloud = FakeCloud()
        self.lb = self.cloud.load_balancer()
        self.api_client = server.api_client()
        self.client = RawClient(self.api_client)
        self.names = [f"svc-{i}" for i in range(n)]
        self.ports = dict.fromkeys(self.names, 80)
        for node in ("node-a", "node-b"):
            self.client.create(NODES, {"metadata": {"name": node}, "spec": {},
                                       "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}})
        self.manager = ControllerManager(self.api_client, self.cloud, ControllerOptions())
        self.manager.start()
        assert self.manager.wait_ready(10)
        for name in self.names:
            self.client.create(SERVICES, {"metadata": {"name": name}, "spec": {
                "type": "LoadBalancer", "selector": {"app": name}, "ports": [{"name": "http", "port": 80}]}})
        self.wait_converged()
        self.baseline = self.ensures()

    def close(self) -> None:
        self.manager.stop()
        self.api_client.close()

    # ---------------------------------------------------------------- observation

    def ensures(self) -> int:
        return len(self.lb.calls_of("ensure"))

    def lost(self) -> list[str]:
        """Services whose load balancer does not carry the port last written, or have no ingress."""
        out = []
        for item in self.client.list(SERVICES)["items"]:
            name = item["metadata"]["name"]
            stored = self.lb.stored(item["metadata"]["uid"])
            if stored is None or [p.port for p in stored.ports] != [self.ports.get(name)] or \
                    not (item.get("status") or {}).get("loadBalancer", {}).get("ingress"):
                out.append(name)
        return out

    def stale(self) -> list[str]:
        """Objects the controller's Service informer holds differently from the API."""
        api = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in self.client.list(SERVICES)["items"]}
        cached = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in self.manager.services.store.list()}
        return sorted(k for k in api.keys() | cached.keys() if api.get(k) != cached.get(k))

    def wait_converged(self, timeout: float = 20.0) -> None:
        wait_for(lambda: not self.lost() and not self.stale(), timeout=timeout,
                 message=lambda: f"convergence: lost {self.lost()}, stale {self.stale()}")

    def wait_watching(self, timeout: float = 10.0) -> None:
        """Until the controller's informers have their watches open again."""
        wait_for(lambda: self.server.open_watch_count() >= 2, timeout=timeout, message="the watches to reopen")

    # ---------------------------------------------------------------- actions

    def change(self, name: str) -> None:
        self.ports[name] += 1
        self.client.patch(f"{SERVICES}/{name}", {"spec": {"ports": [{"name": "http", "port": self.ports[name]}]}},
                          "merge")

    def outcome(self, scenario: str, changes: int, started: float) -> Outcome:
        self.wait_converged()
        ensures = self.ensures() - self.baseline
        inf = self.manager.services
        return Outcome(scenario, len(self.names), changes, ensures, max(0, ensures - changes), len(self.lost()),
                       len(self.stale()), inf.relists, inf.too_large_relists, time.monotonic() - started)

    def restored_server(self, *, changed: list[str], start_revision: int = 1, **options: Any) -> APIServer:
        """A new API server holding this one's Nodes and Services (same uids and status: a restore),
        with ``changed`` Services' ports bumped, and none of its history."""
        fresh = APIServer(start_revision=start_revision, **options)
        old = self.server.server
        for bucket in ("nodes", "services"):
            for key, entry in old.store.items(bucket):
                obj = copy.deepcopy(entry.obj)
                name = obj["metadata"]["name"]
                if bucket == "services" and name in changed:
                    self.ports[name] += 1
                    obj["spec"]["ports"][0]["port"] = self.ports[name]
                fresh.store.create(bucket, key, obj)
        return fresh


@contextmanager
def rig(n: int, **server_options: Any) -> Iterator[Rig]:
    with embedded_apiserver(**server_options) as server:
        r = Rig(server, n)
        try:
            yield r
        finally:
            r.close()


# -------------------------------------------------------------------- scenarios


def watch_drops(r: Rig, rounds: int) -> Outcome:
    """Cut every watch, then change a Service, ``rounds`` times."""
    started = time.monotonic()
    for i in range(rounds):
        r.server.drop_watches()
        r.change(r.names[i % len(r.names)])
    return r.outcome("watch drops", rounds, started)


def gone_storm(r: Rig, rounds: int) -> Outcome:
    """With a 2-event history, several changes land while the watch is down: every resume is a 410."""
    started = time.monotonic()
    changes = 0
    for i in range(rounds):
        r.server.pause()
        r.server.resume()
        for j in range(3):
            r.change(r.names[(i * 3 + j) % len(r.names)])
            changes += 1
    return r.outcome("410 storm", changes, started)


def restart_keeping_state(r: Rig, rounds: int) -> Outcome:
    """The API goes away and comes back with its state: nothing should be re-ensured."""
    started = time.monotonic()
    for _ in range(rounds):
        r.server.restart()
        r.wait_watching()
    r.change(r.names[0])
    return r.outcome("restart (state kept)", 1, started)


def restart_losing_history(r: Rig, *, forward: bool, changed: int = 1) -> Outcome:
    """The API comes back from a restore: same objects, some changed, no history; revisions go
    backwards (a fresh store) or jump forward (a newer etcd revision)."""
    started = time.monotonic()
    names = r.names[:changed]
    fresh = r.restored_server(changed=names, start_revision=1_000_000 if forward else 1)
    r.server.restart(fresh)
    return r.outcome("restore, revisions " + ("jump forward" if forward else "go backwards"), changed, started)


SCENARIOS: dict[str, Callable[..., Outcome]] = {
    "watch_drops": watch_drops, "gone_storm": gone_storm, "restart_keeping_state": restart_keeping_state,
}
