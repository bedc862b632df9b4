"""The service controller runtime: informer handlers enqueue keys, workers run the syncs (§1.1, §1.3, §2.2, §3).

``concurrent_service_syncs`` service workers share the ``service`` queue (a key is never held by
two workers); one node worker drains the ``node`` queue, each item being a full node sync whose
per-Service parallelism is the same worker count. Handlers run on informer threads and only
enqueue. Objects are the informers' read-only dicts.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence

from ccm.controllers.service import predicates as pr
from ccm.controllers.service.errors import find_retry
from ccm.controllers.service.nodesync import NodeSyncer
from ccm.controllers.service.patching import ServicePatcher
from ccm.controllers.service.predicates import Obj
from ccm.controllers.service.state import LastSyncedNodes, ServiceCache
from ccm.controllers.service.sync import ServiceSyncer
from ccm.kube.client import RawClient
from ccm.kube.events import Recorder
from ccm.kube.resources import object_key, split_key
from ccm.kube.workqueue import RateLimitingQueue
from providers.metrics import InstrumentedLoadBalancer
from providers.port import CloudProvider

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Listers:
    """Read access to the informer caches (the controller never lists the API itself)."""

    get_service: Callable[[str], Obj | None]
    list_services: Callable[[], Sequence[Obj]]
    list_nodes: Callable[[], Sequence[Obj]]


class ServiceController:
    def __init__(
        self,
        client: RawClient,
        cloud: CloudProvider,
        recorder: Recorder,
        listers: Listers,
        *,
        cluster_name: str = "kubernetes",
        workers: int = 1,
        classes: pr.ClassFilter = pr.DEFAULT_CLASSES,
        resync_period: float | None = None,
    ) -> None:
        lb = cloud.load_balancer()
        if lb is None:
            raise ValueError("the cloud provider does not support external load balancers")
        self.lb = InstrumentedLoadBalancer(lb, cloud.name or type(cloud).__name__)
        self.listers = listers
        self.classes = classes
        self.workers = max(1, workers)
        self.resync_period = resync_period
        self.cache = ServiceCache()
        self.last_synced = LastSyncedNodes()
        self.queue: RateLimitingQueue[str] = RateLimitingQueue("service")
        self.node_queue: RateLimitingQueue[str] = RateLimitingQueue("node")
        self.syncer = ServiceSyncer(
            lb=self.lb, patcher=ServicePatcher(client), recorder=recorder, list_nodes=listers.list_nodes,
            cache=self.cache, last_synced=self.last_synced, cluster_name=cluster_name,
            annotation_provider=cloud.annotation_provider, classes=classes,
            support=cloud.annotation_support(), provider=cloud.name or type(cloud).__name__,
        )
        self.node_syncer = NodeSyncer(self.syncer, workers=self.workers)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._marks = threading.Lock()
        # queued key -> True when a real change queued it, False when only the periodic resync did
        self._loud: dict[str, bool] = {}

    # ---- informer handlers (enqueue only) --------------------------------------------------
    def _enqueue(self, svc: Obj) -> None:
        key = object_key(svc)
        with self._marks:
            self._loud[key] = True
        self.queue.add(key)

    def on_service_add(self, svc: Obj) -> None:
        if pr.wants_load_balancer(svc, self.classes) or pr.needs_cleanup(svc, self.classes):
            self._enqueue(svc)

    def on_service_update(self, old: Obj, cur: Obj) -> None:
        if pr.needs_update(old, cur, self.classes) or pr.needs_cleanup(cur, self.classes):
            self._enqueue(cur)

    def on_node_add(self, node: Obj) -> None:
        self.node_queue.add(object_key(node))

    def on_node_update(self, old: Obj, cur: Obj) -> None:
        if pr.should_sync_updated_node(old, cur):
            self.node_queue.add(object_key(cur))

    def on_node_delete(self, node: Obj) -> None:
        self.node_queue.add(object_key(node))

    # ---- running ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start workers and replay the cache as Add events (what a newly registered handler gets).

        A controller stopped before it started (leadership lost meanwhile) stays stopped.
        """
        if self._stop.is_set():
            return
        for svc in self.listers.list_services():
            self.on_service_add(svc)
        for i in range(self.workers):
            self._spawn(self._service_worker, f"service-worker-{i}")
        self._spawn(self._node_worker, "node-worker")
        if self.resync_period:
            self._spawn(self._resync_loop, "service-resync")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=self._supervise, args=(target, name), name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _supervise(self, target: Callable[[], None], name: str) -> None:
        """Restart a loop that died of an unexpected error after 1 s (upstream wait.Until)."""
        while not self._stop.is_set():
            try:
                target()
                return
            except Exception:
                log.exception("%s crashed; restarting in 1s", name)
                self._stop.wait(1.0)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.shut_down()
        self.node_queue.shut_down()
        for t in self._threads:
            t.join(timeout)
        self.node_syncer.close()

    def _drain(self, queue: RateLimitingQueue[str], process: Callable[[str], None]) -> None:
        """A worker loop: one item at a time, always ``done``, until shut down or stopped."""
        while not self._stop.is_set():
            item, shutdown = queue.get()
            if shutdown or item is None:
                return
            try:
                if self._stop.is_set():
                    return  # prompt stop: what is still queued is re-driven at the next start
                process(item)
            finally:
                queue.done(item)

    def _service_worker(self) -> None:
        self._drain(self.queue, self._process_service)

    def _process_service(self, key: str) -> None:
        with self._marks:
            quiet = not self._loud.pop(key, True)  # unmarked (a retry, a node-sync failure): loud
        try:
            self.sync_service(key, quiet)
        except Exception as exc:
            retry = find_retry(exc)
            if retry is not None:
                log.error("error processing service %s (retrying in %.3gs): %s", key, retry.retry_after, exc)
                self.queue.add_after(key, retry.retry_after)
            else:
                log.error("error processing service %s (retrying with exponential backoff): %s", key, exc)
                self.queue.add_rate_limited(key)
        else:
            self.queue.forget(key)

    def sync_service(self, key: str, quiet: bool = False) -> None:
        split_key(key)  # "unexpected key format" for a malformed key
        svc = self.listers.get_service(key)
        if svc is None:
            self.syncer.process_service_deletion(key)
        else:
            self.syncer.process_service_create_or_update(svc, key, quiet)

    def _node_worker(self) -> None:
        self._drain(self.node_queue, self._process_nodes)

    def _process_nodes(self, item: str) -> None:
        """A full node sync whatever the node; never retried through the node queue (§2.4)."""
        try:
            for key in self.node_syncer.sync_nodes():
                self.queue.add(key)  # immediate, not rate-limited: a full ensure with current nodes
        except Exception as exc:
            log.error("node sync failed: %s", exc)
        finally:
            self.node_queue.forget(item)

    def _resync_loop(self) -> None:
        """Improvement (kubernetes#34660): periodically re-ensure every owned Service, so an
        out-of-band change in the cloud is repaired. Quiet: no Normal events unless status changes."""
        assert self.resync_period
        while not self._stop.wait(self.resync_period):
            self.resync_now()

    def resync_now(self) -> int:
        """Queue every owned LoadBalancer Service for a quiet re-ensure; returns how many."""
        n = 0
        for svc in self.listers.list_services():
            if pr.wants_load_balancer(svc, self.classes):
                key = object_key(svc)
                with self._marks:
                    self._loud.setdefault(key, False)
                self.queue.add(key)
                n += 1
        return n
