"""The orphan sweep against a real cloud: Services deleted while ccm was down, found and collected.

The scenario, per cloud: a controller builds N load balancers (and, on clouds whose inventory
tells clusters apart, a controller of another cluster builds one more); all controllers stop;
half of the Services lose their finalizer by hand and are deleted, as is the other cluster's.
Then:

1. a controller with ``--gc-period`` in dry run: after one period the orphans are reported
   (``ccm_orphan_resources{action="would_delete"}``, a Warning event per vanished Service) and
   the cloud is unchanged;
2. a controller with ``--gc-delete``: the orphans go; the remaining Services' load balancers
   stay converged (the provider would send nothing for them) and the other cluster's resources
   are untouched;
3. the remaining Services are deleted normally: nothing is left of ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

from prometheus_client import REGISTRY

from ccm.controllers.orphans.controller import DELETED, ORPHANED
from tests.reliability.clouds.base import FOREIGN_CLUSTER as OTHER_CLUSTER
from tests.reliability.providerenv import Env, Instance, poll


@dataclasses.dataclass
class Outcome:
    cloud: str
    services: int
    orphaned_services: int
    found: int  # resources reported in the dry run
    deleted: int
    reported_events: int
    deleted_events: int
    changed_in_dry_run: list[str]
    kept_converged: int
    foreign_kept: bool | None  # None: the cloud's inventory does not tell clusters apart
    leftovers: list[str]
    seconds_to_delete: float

    @property
    def ok(self) -> bool:
        return (self.found > 0 and self.found == self.deleted and not self.changed_in_dry_run
                and self.reported_events == self.deleted_events == self.orphaned_services
                and self.kept_converged == self.services - self.orphaned_services
                and self.foreign_kept is not False and not self.leftovers)

    def row(self) -> str:
        foreign = {None: "n/a", True: "untouched", False: "TOUCHED"}[self.foreign_kept]
        return (f"| {self.cloud} | {self.services} | {self.orphaned_services} | {self.found} | "
                f"{len(self.changed_in_dry_run)} | {self.deleted} | {self.seconds_to_delete:.1f} | "
                f"{self.kept_converged}/{self.services - self.orphaned_services} | {foreign} | {len(self.leftovers)} |")


HEADER = ("| cloud | services | deleted while down | orphaned resources reported (dry run) | deleted by the dry run | "
          "deleted (--gc-delete) | seconds to delete | other Services still converged | other cluster's "
          "orphan | left after deleting the rest |\n|---|---|---|---|---|---|---|---|---|---|")


def _gauge(provider: str, action: str) -> float:
    return REGISTRY.get_sample_value("ccm_orphan_resources", {"provider": provider, "action": action}) or 0.0


def _forget_while_down(env: Env, name: str) -> None:
    env.raw.patch(env.service_path(name), {"metadata": {"finalizers": None}}, "merge")
    env.raw.delete(env.service_path(name))


def _events(env: Env, names: list[str], reason: str) -> int:
    items = env.raw.list("/api/v1/namespaces/default/events")["items"]
    return len({e["involvedObject"]["name"] for e in items if e.get("reason") == reason
                and e["involvedObject"]["name"] in names and e["involvedObject"].get("kind") == "Service"})


def run(env: Env, services: int = 2, *, period: float = 0.5, timeout: float = 60.0) -> Outcome:
    cloud = env.cloud
    provider = cloud.name
    names = [f"gc-{i}" for i in range(services)]
    gone, kept = names[: max(1, services // 2)], names[max(1, services // 2):]
    before = cloud.list_all()
    foreign: list[str] = []
    if cloud.multi_cluster:
        other = env.start(cluster=OTHER_CLUSTER)
        try:
            env.create_service("gc-foreign")
            assert poll(lambda: bool(((env.get("gc-foreign") or {}).get("status") or {}).get("loadBalancer")), timeout)
        finally:
            other.kill()
        foreign = [x for x in cloud.list_all() if x not in before]
        _forget_while_down(env, "gc-foreign")
    first = env.start()
    try:
        for name in names:
            env.create_service(name)
        assert poll(lambda: all(env.converged(n, first) for n in names), timeout), "the Services did not converge"
    finally:
        first.kill()
    for name in gone:
        _forget_while_down(env, name)
    snapshot = cloud.list_all()
    dry = env.start(gc_period=period)
    try:
        poll(lambda: _gauge(provider, "would_delete") > 0 and _events(env, gone, ORPHANED) == len(gone), timeout)
        found = int(_gauge(provider, "would_delete"))
        reported = _events(env, gone, ORPHANED)
        after = cloud.list_all()  # (the local cloud's listeners of the remaining Services come back: not a change)
        changed = [x for x in snapshot if x not in after]
    finally:
        dry.kill()
    started = time.monotonic()
    deleted_before = _deleted_total(provider)
    collector = env.start(gc_period=period, gc_delete=True)
    try:
        poll(lambda: _events(env, gone, DELETED) == len(gone), timeout)
        seconds = time.monotonic() - started
        deleted = _deleted_total(provider) - deleted_before
        kept_converged = sum(1 for n in kept if env.converged(n, collector))
        foreign_kept = all(x in cloud.list_all() for x in foreign) if cloud.multi_cluster else None
        for name in kept:
            env.raw.delete(env.service_path(name))
        poll(lambda: all(env.gone(n) for n in kept), timeout)
        if foreign:  # what the other cluster's own collector would do
            _clean_other_cluster(env)
        leftovers = [*(f"cloud: {x}" for x in cloud.list_all() if x not in before and x not in foreign),
                     *(f"inventory: {x}" for x in env.owned(collector)),
                     *(f"other cluster: {x}" for x in foreign if x in cloud.list_all())]
    finally:
        collector.kill()
    return Outcome(provider, services, len(gone), found, deleted, reported, _events(env, gone, DELETED), changed,
                   kept_converged, foreign_kept, leftovers, seconds)


def _deleted_total(provider: str) -> int:
    return int(REGISTRY.get_sample_value("ccm_orphan_resources_deleted_total", {"provider": provider}) or 0)


def _clean_other_cluster(env: Env) -> None:
    """Delete what the other cluster's controller made (its own inventory, as its collector would)."""
    other: Instance | None = None
    if env.probe is None:
        other = env.start(cluster=OTHER_CLUSTER)
        provider = other.cloud
    else:
        provider = env.cloud.make_probe(OTHER_CLUSTER)
    try:
        inventory = provider.inventory()
        assert inventory is not None
        inventory.delete_owned("default/gc-foreign")
    finally:
        if other is not None:
            other.kill()
        else:
            with contextlib.suppress(Exception):
                provider.close()
