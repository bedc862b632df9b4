"""Wires the service controller to the API, the cloud, leader election and the health server.

Usable in-process (tests, the demo) and from ``ccm controller``. Informers start at once (a warm
standby has full caches when it takes over); the controller's workers run only while leading.
Handlers are registered once and forward to the current controller, if any: a controller started
later replays the cache as Add events, exactly what a newly registered upstream handler receives.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes.client

from ccm.controllers.service import metrics
from ccm.controllers.service.controller import Listers, ServiceController
from ccm.controllers.service.predicates import ClassFilter
from ccm.kube.client import RawClient
from ccm.kube.events import EventRecorder
from ccm.kube.httpserver import HealthServer
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
    concurrent_service_syncs: int = 1
    load_balancer_class: str | None = None
    ignore_unclassed: bool = False
    resync_period: float | None = None
    leader_elect: bool = False
    leader_elect_namespace: str = "kube-system"
    leader_elect_name: str = "cloud-controller-manager"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str | None = None
    bind_address: str | None = None
    port: int | None = None  # None: no HTTP server; 0: pick a free port


class ControllerManager:
    def __init__(self, api_client: kubernetes.client.ApiClient, cloud: CloudProvider, opts: ControllerOptions) -> None:
        if cloud.load_balancer() is None:
            raise ValueError("the cloud provider does not support external load balancers")
        self.cloud = cloud
        self.opts = opts
        self.client = RawClient(api_client)
        self.services = Informer(self.client, SERVICES)
        self.nodes = Informer(self.client, NODES)
        sc = ServiceController
        self.services.add_handler(self._forward(sc.on_service_add), self._forward(sc.on_service_update), None)
        self.nodes.add_handler(self._forward(sc.on_node_add), self._forward(sc.on_node_update),
                               self._forward(sc.on_node_delete))
        self.recorder = EventRecorder(self.client, COMPONENT)
        self.identity = opts.identity or default_identity()
        self._lock = threading.Lock()
        self._controller: ServiceController | None = None
        self._stopping = threading.Event()
        self.elector: LeaderElector | None = None  # the current campaign
        self._electors: list[LeaderElector] = []
        self._aux: list[threading.Thread] = []  # start-up runners and re-campaigns, joined on stop
        self._generation = 0
        self.health: HealthServer | None = None

    # ---- forwarding handlers -----------------------------------------------------------------
    def _forward(self, method: Callable[..., None]) -> Callable[..., None]:
        """An informer handler that calls ``method`` on the current controller, if there is one."""

        def handler(*objs: Mapping[str, Any]) -> None:
            if (c := self._controller) is not None:
                method(c, *objs)

        return handler

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.services.start()
        self.nodes.start()
        if self.opts.port is not None:
            self.health = HealthServer(
                self.opts.bind_address or "127.0.0.1", self.opts.port, healthz=self._healthz, readyz=self._readyz
            )
            self.health.start()
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
        t = threading.Thread(target=self._run_controller, name="service-controller-start", daemon=True)
        with self._lock:
            self._aux.append(t)
        t.start()

    def _run_controller(self) -> None:
        """Wait for both caches (upstream Run does the same), then start workers."""
        while not self._stopping.is_set():
            if self.services.wait_for_sync(0.2) and self.nodes.wait_for_sync(0.2):
                break
        with self._lock:
            if self._stopping.is_set() or self._controller is not None:
                return
            if self.elector is not None and not self.elector.is_leader():
                return
            controller = ServiceController(
                self.client, self.cloud, self.recorder,
                Listers(self.services.store.get, self.services.store.list, self.nodes.store.list),
                cluster_name=self.opts.cluster_name, workers=self.opts.concurrent_service_syncs,
                classes=ClassFilter(self.opts.load_balancer_class, self.opts.ignore_unclassed),
                resync_period=self.opts.resync_period,
            )
            self._controller = controller
        controller.start()
        with self._lock:  # not if _stop_controller took it meanwhile: the gauge would stay at 1
            if self._controller is not controller:
                return
            metrics.RUNNING_MANAGED_CONTROLLERS.labels(CONTROLLER_NAME, MANAGER).set(1)
        log.info("service controller started with %d workers", controller.workers)

    def _stop_controller(self) -> None:
        with self._lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            metrics.RUNNING_MANAGED_CONTROLLERS.labels(CONTROLLER_NAME, MANAGER).set(0)
            log.info("service controller stopped")

    def _on_stopped_leading(self) -> None:
        """Lost the lease: stop acting at once, then campaign again as a standby.

        Upstream exits the process here; in-process we rebuild the controller from scratch
        (new cache and queues) when leadership comes back, which is what a restart would do.
        """
        self._stop_controller()
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
        self._stop_controller()
        self.services.stop()
        self.nodes.stop()
        self.recorder.stop()
        if self.health is not None:
            self.health.stop()

    def _join_aux(self) -> None:
        with self._lock:
            aux = list(self._aux)
        for t in aux:
            t.join(10)

    # ---- state -------------------------------------------------------------------------------
    @property
    def controller(self) -> ServiceController | None:
        return self._controller

    def is_leader(self) -> bool:
        if self.elector is not None:
            return self.elector.is_leader()
        return self._controller is not None

    def _synced(self) -> bool:
        return self.services.has_synced() and self.nodes.has_synced()

    def ready(self) -> tuple[bool, str]:
        if not self._synced():
            return False, "informer caches not synced"
        if self.elector is None or self.elector.is_leader():
            if self._controller is None:
                return False, "service controller not started"
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
