"""The orphan collector: a periodic, leader-only sweep over the provider's inventory (``--gc-period``).

Upstream never repairs a load balancer whose Service was deleted while the controller was down
and whose finalizer was then removed by hand: nothing triggers a deletion any more. This
controller finds such resources by their ownership tags (the provider's ``Inventory``), and
reports them (dry run, the default) or deletes them (``--gc-delete``) with the provider's own
``delete_owned``. What counts as an orphan, and the grace period, are in :mod:`.sweep`.

Each sweep reads the inventory first and then lists Services fresh from the API (never the
informer cache, which may be stale right after start or after an API restart): a resource
created for a Service that exists is then always matched with it. Before deleting, the
Service is read once more. The manager runs this controller only while leading, after its
caches synced. Every sweep, per orphaned Service key: one log line per resource, one event in
the Service's namespace about the Service (an ObjectReference to the vanished object, as
upstream records events about deleted objects), and the ``ccm_orphan_resources`` gauge.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from ccm.controllers.orphans import sweep
from ccm.controllers.orphans.metrics import ORPHAN_RESOURCES, ORPHAN_RESOURCES_DELETED, ORPHAN_SWEEPS
from ccm.controllers.orphans.sweep import Candidate, Grace
from ccm.controllers.service.predicates import ClassFilter
from ccm.controllers.workers import Workers
from ccm.kube.client import ApiError, RawClient
from ccm.kube.clock import REAL_CLOCK, Clock
from ccm.kube.events import Recorder
from ccm.kube.resources import SERVICES, object_key
from providers.port import CloudProvider, Inventory, OwnedResource

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
ORPHANED = "OrphanedLoadBalancerResources"
DELETED = "DeletedOrphanedLoadBalancerResources"
DELETE_FAILED = "DeleteOrphanedLoadBalancerResourcesFailed"
#: resources named in one event message; the log has every one
EVENT_NAMES = 8
LIST_PAGE = 500


@dataclasses.dataclass
class SweepResult:
    """What one sweep found and did, by Service key."""

    waiting: list[str] = dataclasses.field(default_factory=list)
    would_delete: list[str] = dataclasses.field(default_factory=list)
    deleted: dict[str, tuple[OwnedResource, ...]] = dataclasses.field(default_factory=dict)
    failed: list[str] = dataclasses.field(default_factory=list)
    #: keys found ripe but protected on the re-read right before deleting
    spared: list[str] = dataclasses.field(default_factory=list)
    resources: dict[str, int] = dataclasses.field(default_factory=dict)  # action -> resources

    @property
    def found(self) -> int:
        return sum(self.resources.values())


def list_services(client: RawClient) -> dict[str, dict[str, Any]]:
    """Every Service, fresh from the API (paged; a continuation that expired restarts unpaged)."""
    params: dict[str, Any] = {"limit": LIST_PAGE}
    items: list[dict[str, Any]] = []
    while True:
        try:
            page = client.list(SERVICES.collection_path(), params)
        except ApiError as exc:
            if exc.is_gone and "continue" in params:
                params, items = {}, []
                continue
            raise
        items.extend(page.get("items") or ())
        token = (page.get("metadata") or {}).get("continue")
        if not token or "limit" not in params:
            break
        params["continue"] = token
    for item in items:  # list items carry no kind; events need it
        item.setdefault("kind", SERVICES.kind)
        item.setdefault("apiVersion", SERVICES.api_version)
    return {object_key(i): i for i in items}


def _names(resources: tuple[OwnedResource, ...]) -> str:
    shown = ", ".join(str(r.resource) for r in resources[:EVENT_NAMES])
    more = len(resources) - EVENT_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


class OrphanCollector:
    def __init__(self, client: RawClient, cloud: CloudProvider, recorder: Recorder, *, period: float,
                 delete: bool = False, classes: ClassFilter | None = None,
                 on_deleted: Callable[[str], None] | None = None, clock: Clock = REAL_CLOCK) -> None:
        inventory = cloud.inventory()
        if inventory is None:
            raise ValueError("the cloud provider has no inventory")
        if period <= 0:
            raise ValueError("the orphan sweep period must be positive")
        self.inventory: Inventory = inventory
        self.client = client
        self.recorder = recorder
        self.provider = cloud.name or type(cloud).__name__
        self.period = period
        self.delete = delete
        self.classes = classes or ClassFilter()
        #: told the key of a Service whose orphans were deleted (the manager re-queues it: if a
        #: Service of that name was created meanwhile, the service controller re-ensures it)
        self.on_deleted = on_deleted
        self.clock = clock
        self.grace = Grace(period)
        self._stop = threading.Event()
        self._workers = Workers(self._stop)
        self._sweep_lock = threading.Lock()

    # ---- Controller ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._stop.is_set():
            return
        mode = "deleting" if self.delete else "dry run (--gc-delete to delete)"
        log.info("orphan sweep every %gs, %s", self.period, mode)
        self._workers.every(self.period, self.run_once, "orphan-gc", immediately=True)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._workers.join(timeout)

    def healthy(self) -> tuple[bool, str]:
        return (False, "stopped") if self._stop.is_set() else (True, "ok")

    def run_once(self) -> None:
        """One sweep; errors are counted and logged, the next period tries again."""
        try:
            self.sweep()
        except Exception as exc:
            ORPHAN_SWEEPS.labels(self.provider, "error").inc()
            log.error("orphan sweep failed (next in %gs): %s", self.period, exc)
        else:
            ORPHAN_SWEEPS.labels(self.provider, "success").inc()

    # ---- the sweep ------------------------------------------------------------------------------
    def sweep(self) -> SweepResult:
        with self._sweep_lock:
            owned = self.inventory.by_service()  # first: see the module docstring
            services = list_services(self.client)
            ripe, waiting = self.grace.split(sweep.candidates(owned, services, self.classes), self.clock.now())
            out = SweepResult()
            for c in waiting:
                out.waiting.append(c.service)
                for r in c.resources:
                    log.info("%s: orphaned %s (%s); waiting one sweep period before acting", c.service,
                             r.resource, c.why.value)
            for c in ripe:
                if self._stopped():
                    break
                if not self.delete:
                    self._report(c)
                    out.would_delete.append(c.service)
                else:
                    self._collect(c, out)
            counts = {
                "waiting": sum(len(c.resources) for c in waiting),
                "would_delete": sum(len(c.resources) for c in ripe if c.service in out.would_delete),
                "deleted": sum(len(v) for v in out.deleted.values()),
                "failed": sum(len(c.resources) for c in ripe if c.service in out.failed),
            }
            for action, n in counts.items():
                ORPHAN_RESOURCES.labels(self.provider, action).set(n)
            out.resources = counts
            return out

    def _stopped(self) -> bool:
        return self._stop.is_set()

    def _report(self, c: Candidate) -> None:
        for r in c.resources:
            log.info("%s: orphaned %s (%s): would delete (dry run; --gc-delete deletes)", c.service, r.resource,
                     c.why.value)
        self.recorder.event(self._subject(c), WARNING, ORPHANED,
                            f"{len(c.resources)} cloud resources tagged for this Service's load balancer remain "
                            f"although {c.why.value}: {_names(c.resources)}; dry run: ccm --gc-delete would "
                            "delete them")

    def _collect(self, c: Candidate, out: SweepResult) -> None:
        try:
            again = self._read(c)
        except Exception as exc:
            log.error("%s: cannot re-read the Service before deleting its orphans: %s", c.service, exc)
            out.failed.append(c.service)
            return
        if again is not None and sweep.protected(again, self.classes):
            log.info("%s: the Service is a LoadBalancer of ours again; its resources are left alone", c.service)
            self.grace.forget(c.service)
            out.spared.append(c.service)
            return
        try:
            deleted = self.inventory.delete_owned(c.service)
        except Exception as exc:
            log.error("%s: deleting orphaned resources failed: %s", c.service, exc)
            self.recorder.event(self._subject(c), WARNING, DELETE_FAILED,
                                f"Error deleting orphaned load-balancer resources ({c.why.value}): {exc}")
            out.failed.append(c.service)
            return
        for r in deleted:
            log.info("%s: deleted orphaned %s (%s)", c.service, r.resource, c.why.value)
        ORPHAN_RESOURCES_DELETED.labels(self.provider).inc(len(deleted))
        out.deleted[c.service] = deleted
        self.grace.forget(c.service)
        if deleted:
            self.recorder.event(self._subject(c), NORMAL, DELETED,
                                f"Deleted {len(deleted)} orphaned cloud resources ({c.why.value}): "
                                f"{_names(deleted)}")
        if self.on_deleted is not None:
            self.on_deleted(c.service)

    def _read(self, c: Candidate) -> dict[str, Any] | None:
        try:
            svc = self.client.get(SERVICES.item_path(c.namespace, c.name))
        except ApiError as exc:
            if exc.is_not_found:
                return None
            raise
        svc.setdefault("kind", SERVICES.kind)
        svc.setdefault("apiVersion", SERVICES.api_version)
        return svc

    @staticmethod
    def _subject(c: Candidate) -> dict[str, Any]:
        """The Service the event is about: as listed when it exists, else a reference to the vanished one."""
        if c.obj is not None:
            return dict(c.obj)
        return {"apiVersion": SERVICES.api_version, "kind": SERVICES.kind,
                "metadata": {"namespace": c.namespace, "name": c.name}}
