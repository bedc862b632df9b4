"""Wires the cloud controllers to the API, the cloud, leader election and the health server.

Usable in-process (tests, the demo) and from ``ccm controller``. Which controllers run follows
``--controllers`` (:mod:`ccm.controllers.selection`): the service controller needs the cloud's
load-balancer capability, the cloud-node and cloud-node-lifecycle controllers its instances
capability, the orphan collector its inventory capability and a ``--gc-period`` above 0; an
enabled controller whose capability is missing is skipped with a warning, as upstream
(``Skipping "X"``), never an error.

Informers start at once (a warm standby has full caches when it takes over); the controllers
run only while leading. Handlers are registered once and forward to the current controllers, if
any: controllers started later replay the cache as Add events, exactly what a newly registered
upstream handler receives.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import kubernetes.client

from ccm.controllers import selection
from ccm.controllers.metrics import RUNNING_MANAGED_CONTROLLERS
from ccm.controllers.node import CloudNodeController
from ccm.controllers.nodelifecycle import NodeLifecycleController
from ccm.controllers.orphans import OrphanCollector
from ccm.controllers.service.controller import Listers, ServiceController
from ccm.controllers.service.predicates import ClassFilter
from ccm.kube.client import RawClient
from ccm.kube.events import EventRecorder
from ccm.kube.httpserver import Guard, HealthServer
from ccm.kube.informer import Informer
from ccm.kube.leaderelection import LeaderElector, default_identity
from ccm.kube.resources import NODES, SERVICES
from providers.port import CloudProvider

log = logging.getLogger(__name__)

MANAGER = "cloud-controller-manager"
CONTROLLER_NAME = "service"
COMPONENT = "service-controller"


@dataclasses.dataclass(frozen=True)
class ControllerOptions:
    cluster_name: str = "kubernetes"
    #: ``--controllers`` entries (aliases allowed); validated by the manager
    controllers: tuple[str, ...] = selection.DEFAULT
    concurrent_service_syncs: int = 1
    concurrent_node_syncs: int = 1
    #: fan-out of the periodic address refresh; 0 means concurrent_node_syncs (upstream)
    concurrent_node_status_updates: int = 0
    node_monitor_period: float = 5.0
    node_status_update_frequency: float = 300.0
    load_balancer_class: str | None = None
    ignore_unclassed: bool = False
    resync_period: float | None = None
    #: the orphan sweep's period (``--gc-period``); 0 disables it
    gc_period: float = 0.0
    #: delete orphans instead of reporting them (``--gc-delete``)
    gc_delete: bool = False
    leader_elect: bool = False
    leader_elect_namespace: str = "kube-system"
    leader_elect_name: str = "cloud-controller-manager"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str | None = None
    bind_address: str | None = None
    port: int | None = None  # None: no HTTP server; 0: pick a free port


@dataclasses.dataclass(frozen=True)
class Serving:
    """How the health server is exposed: TLS and the authn/authz guard (the secure port), or neither."""

    bind_address: str = "127.0.0.1"
    port: int = 0
    tls: Any = None  # ssl.SSLContext
    guard: Guard | None = None


class Controller(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    def healthy(self) -> tuple[bool, str]: ...


class ControllerManager:
    def __init__(self, api_client: kubernetes.client.ApiClient, cloud: CloudProvider, opts: ControllerOptions,
                 *, serving: Serving | None = None) -> None:
        self.cloud = cloud
        self.opts = opts
        self.serving = serving
        entries = selection.normalize(opts.controllers)
        self.enabled = [c for c in selection.KNOWN if selection.is_enabled(c, entries)]
        for c in selection.KNOWN:
            if c not in self.enabled:
                log.info('"%s" is disabled', c)
        self.runnable = [c for c in self.enabled if self._supported(c)]
        self.client = RawClient(api_client)
        self.nodes = Informer(self.client, NODES)
        self.services: Informer | None = None
        if selection.SERVICE in self.runnable:
            self.services = Informer(self.client, SERVICES)
            sc = ServiceController
            self.services.add_handler(self._forward(selection.SERVICE, sc.on_service_add),
                                      self._forward(selection.SERVICE, sc.on_service_update), None)
            self.nodes.add_handler(self._forward(selection.SERVICE, sc.on_node_add),
                                   self._forward(selection.SERVICE, sc.on_node_update),
                                   self._forward(selection.SERVICE, sc.on_node_delete))
        if selection.CLOUD_NODE in self.runnable:
            cn = CloudNodeController
            self.nodes.add_handler(self._forward(selection.CLOUD_NODE, cn.on_node_add),
                                   self._forward(selection.CLOUD_NODE, cn.on_node_update), None)
        self.recorders = {
            selection.SERVICE: EventRecorder(self.client, COMPONENT),
            selection.CLOUD_NODE: EventRecorder(self.client, "cloud-node-controller"),
            selection.CLOUD_NODE_LIFECYCLE: EventRecorder(self.client, "cloud-node-lifecycle-controller"),
            selection.ORPHAN_GC: EventRecorder(self.client, "orphan-gc-controller"),
        }
        self.recorder = self.recorders[selection.SERVICE]
        self.identity = opts.identity or default_identity()
        self._lock = threading.Lock()
        self._controllers: dict[str, Controller] = {}
        self._stopping = threading.Event()
        self.elector: LeaderElector | None = None  # the current campaign
        self._electors: list[LeaderElector] = []
        self._aux: list[threading.Thread] = []  # start-up runners and re-campaigns, joined on stop
        self._generation = 0
        self.health: HealthServer | None = None

    def _supported(self, canonical: str) -> bool:
        alias = selection.ALIASES[canonical]
        if canonical == selection.SERVICE and self.cloud.load_balancer() is None:
            log.warning("%s: the cloud provider does not support load balancers", alias)
        elif canonical in (selection.CLOUD_NODE, selection.CLOUD_NODE_LIFECYCLE) and self.cloud.instances() is None:
            log.warning("%s: cloud provider does not support instances", alias)
        elif canonical == selection.ORPHAN_GC and self.opts.gc_period <= 0:
            log.info('%s: disabled by --gc-period=0; Skipping "%s"', alias, canonical)
            return False
        elif canonical == selection.ORPHAN_GC and self.cloud.inventory() is None:
            log.warning("%s: the cloud provider cannot list what it owns (no inventory capability)", alias)
        elif canonical == selection.ROUTE:
            # expected with every cloud here (none has routes): not worth a warning on each start
            log.info('%s: will not configure cloud provider routes (no routes capability); Skipping "%s"',
                     alias, canonical)
            return False
        else:
            return True
        log.warning('Skipping "%s"', canonical)
        return False

    # ---- forwarding handlers -----------------------------------------------------------------
    def _forward(self, canonical: str, method: Callable[..., None]) -> Callable[..., None]:
        """An informer handler that calls ``method`` on the running controller ``canonical``, if any."""

        def handler(*objs: Mapping[str, Any]) -> None:
            if (c := self._controllers.get(canonical)) is not None:
                method(c, *objs)

        return handler

    # ---- lifecycle ---------------------------------------------------------------------------
    def start_serving(self) -> None:
        """Bind and serve the health/metrics port (idempotent); OSError when the address cannot be bound."""
        if self.health is not None:
            return
        if self.serving is not None:
            s = self.serving
            self.health = HealthServer(s.bind_address, s.port, healthz=self._healthz, readyz=self._readyz,
                                       tls=s.tls, guard=s.guard)
        elif self.opts.port is not None:
            self.health = HealthServer(self.opts.bind_address or "127.0.0.1", self.opts.port,
                                       healthz=self._healthz, readyz=self._readyz)
        if self.health is not None:
            self.health.start()

    def start(self) -> None:
        """Serve first (a port in use fails here, before anything else started), then run."""
        self.start_serving()
        if self.services is not None:
            self.services.start()
        self.nodes.start()
        if self.opts.leader_elect:
            self._campaign()
        else:
            self._start_runner()

    def _campaign(self, identity: str | None = None) -> None:
        elector = LeaderElector(
            self.client, self.opts.leader_elect_namespace, self.opts.leader_elect_name, identity or self.identity,
            lease_duration=self.opts.lease_duration, renew_deadline=self.opts.renew_deadline,
            retry_period=self.opts.retry_period,
            on_started_leading=self._on_started_leading, on_stopped_leading=self._on_stopped_leading,
            on_new_leader=lambda who: log.info("%s: leader is now %s", self.opts.leader_elect_name, who),
        )
        with self._lock:
            if self._stopping.is_set():
                return
            self._electors.append(elector)
            self.elector = elector
            elector.start()

    def _on_started_leading(self, stop: threading.Event) -> None:
        log.info("%s: became leader (%s)", self.opts.leader_elect_name, self.identity)
        self._start_runner()

    def _start_runner(self) -> None:
        t = threading.Thread(target=self._run_controllers, name="controllers-start", daemon=True)
        with self._lock:
            self._aux.append(t)
        t.start()

    def _synced(self) -> bool:
        return (self.services is None or self.services.has_synced()) and self.nodes.has_synced()

    def _build(self, canonical: str) -> Controller:
        o = self.opts
        nodes = self.nodes.store
        if canonical == selection.SERVICE:
            assert self.services is not None
            return ServiceController(
                self.client, self.cloud, self.recorders[canonical],
                Listers(self.services.store.get, self.services.store.list, nodes.list),
                cluster_name=o.cluster_name, workers=o.concurrent_service_syncs,
                classes=ClassFilter(o.load_balancer_class, o.ignore_unclassed), resync_period=o.resync_period,
            )
        if canonical == selection.ORPHAN_GC:
            return OrphanCollector(self.client, self.cloud, self.recorders[canonical], period=o.gc_period,
                                   delete=o.gc_delete, classes=ClassFilter(o.load_balancer_class, o.ignore_unclassed),
                                   on_deleted=self._requeue_service)
        instances = self.cloud.instances()
        assert instances is not None
        if canonical == selection.CLOUD_NODE:
            return CloudNodeController(self.client, instances, self.recorders[canonical], nodes.get, nodes.list,
                                       workers=o.concurrent_node_syncs,
                                       status_update_frequency=o.node_status_update_frequency,
                                       status_workers=o.concurrent_node_status_updates)
        return NodeLifecycleController(self.client, instances, self.recorders[canonical], nodes.list,
                                       monitor_period=o.node_monitor_period)

    def _run_controllers(self) -> None:
        """Wait for the caches (upstream Run does the same), then start every runnable controller."""
        while not self._stopping.is_set():
            if (self.services is None or self.services.wait_for_sync(0.2)) and self.nodes.wait_for_sync(0.2):
                break
        with self._lock:
            if self._stopping.is_set() or self._controllers:
                return
            if self.elector is not None and not self.elector.is_leader():
                return
            built = {c: self._build(c) for c in self.runnable}
            self._controllers = built
        for canonical, controller in built.items():
            controller.start()
            alias = selection.ALIASES[canonical]
            with self._lock:  # not if _stop_controllers took it meanwhile: the gauge would stay at 1
                if self._controllers.get(canonical) is not controller:
                    return
                RUNNING_MANAGED_CONTROLLERS.labels(alias, MANAGER).set(1)
            if self.health is not None:
                self.health.add_check(alias, controller.healthy)
            log.info('Started "%s"', canonical)

    def _stop_controllers(self) -> None:
        with self._lock:
            controllers, self._controllers = self._controllers, {}
        for canonical, controller in controllers.items():
            controller.stop()
            alias = selection.ALIASES[canonical]
            RUNNING_MANAGED_CONTROLLERS.labels(alias, MANAGER).set(0)
            if self.health is not None:
                self.health.remove_check(alias)
            log.info('Stopped "%s"', canonical)

    def _on_stopped_leading(self) -> None:
        """Lost the lease: stop acting at once, then campaign again as a standby.

        Upstream exits the process here; in-process we rebuild the controllers from scratch
        (new caches and queues) when leadership comes back, which is what a restart would do.
        """
        self._stop_controllers()
        if self._stopping.is_set():
            return
        log.info("%s: %s lost leadership; campaigning again after %.1fs",
                 self.opts.leader_elect_name, self.identity, self.opts.lease_duration)
        t = threading.Thread(target=self._recampaign, name="leader-recampaign", daemon=True)
        with self._lock:
            self._aux.append(t)
        t.start()

    def _recampaign(self) -> None:
        # Wait one lease duration first so a healthy standby wins the race, and use a fresh
        # identity: our old record in the Lease must not be mistaken for a lease we still hold.
        if self._stopping.wait(self.opts.lease_duration):
            return
        with self._lock:
            self._generation += 1
            identity = f"{self.identity}-{self._generation}"
        self._campaign(identity)

    def stop(self) -> None:
        """Prompt; joins every thread this manager started."""
        self._stopping.set()
        self._join_aux()
        with self._lock:
            electors = list(self._electors)
        for elector in electors:
            elector.stop()
        self._join_aux()  # a runner an elector started meanwhile returns at once
        self._stop_controllers()
        if self.services is not None:
            self.services.stop()
        self.nodes.stop()
        for recorder in self.recorders.values():
            recorder.stop()
        if self.health is not None:
            self.health.stop()

    def _join_aux(self) -> None:
        with self._lock:
            aux = list(self._aux)
        for t in aux:
            t.join(10)

    def _requeue_service(self, key: str) -> None:
        """After orphans of ``key`` were deleted: a Service of that name created meanwhile is re-ensured."""
        if (c := self.controller) is not None:
            c.queue.add(key)

    # ---- state -------------------------------------------------------------------------------
    @property
    def controller(self) -> ServiceController | None:
        """The running service controller, if any."""
        c = self._controllers.get(selection.SERVICE)
        return c if isinstance(c, ServiceController) else None

    @property
    def runnable_names(self) -> list[str]:
        """The short names of the controllers this manager runs while leading."""
        return [selection.ALIASES[c] for c in self.runnable]

    def running(self, canonical: str) -> Controller | None:
        return self._controllers.get(canonical)

    def is_leader(self) -> bool:
        if self.elector is not None:
            return self.elector.is_leader()
        return bool(self._controllers)

    def ready(self) -> tuple[bool, str]:
        if not self._synced():
            return False, "informer caches not synced"
        if self.elector is None or self.elector.is_leader():
            missing = [c for c in self.runnable if c not in self._controllers]
            if missing:
                return False, f"controllers not started: {', '.join(missing)}"
            return True, "ok"
        return True, "ok (standing by)"

    def _healthz(self) -> tuple[bool, str]:
        return True, "ok"

    def _readyz(self) -> tuple[bool, str]:
        return self.ready()

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready()[0]:
            if time.monotonic() >= deadline or self._stopping.wait(0.02):
                return False
        return True
