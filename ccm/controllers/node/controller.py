"""The cloud-node controller (k8s.io/cloud-provider ``controllers/node``): initialise Nodes from the cloud.

A Node that kubelet registered with the ``uninitialized`` taint gets its providerID, the
instance-type/zone/region labels and any provider labels in one conflict-retried Update, then its
addresses through the status subresource, then a ``Synced`` event; only then is it schedulable.
Initialised nodes only have their beta labels copied to the GA ones. Every
``node_status_update_frequency`` the addresses of all initialised nodes are refreshed from the
cloud (labels and providerID are written once, at initialisation).

Informer handlers enqueue node names on the ``Nodes`` queue (client-go's default controller rate
limiter: per item 5 ms doubling to 1000 s, 10 qps overall); ``workers`` threads sync them.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ccm.controllers.node import labels as lb
from ccm.controllers.node import metrics
from ccm.controllers.node.addresses import NodeIPError, addresses_changed, desired_addresses
from ccm.controllers.node.initialize import check_provider_id, cloud_addresses, initialized
from ccm.controllers.nodeutil import TAINT_UNINITIALIZED, NodeWriter, has_taint, name_of, retry_on_conflict
from ccm.controllers.service.request import node_from_api
from ccm.controllers.workers import Workers, drain
from ccm.kube.client import RawClient
from ccm.kube.events import NORMAL, Recorder
from ccm.kube.ratelimit import RateLimiter, default_controller_rate_limiter
from ccm.kube.workqueue import RateLimitingQueue
from providers.instances import InstanceMetadata, Instances

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NAME = "cloud-node"
COMPONENT = "cloud-node-controller"
#: upstream UpdateNodeSpecBackoff: 20 tries, 50 ms apart with jitter 1.0 (50-100 ms)
UPDATE_STEPS, UPDATE_INTERVAL, UPDATE_JITTER = 20, 0.05, 1.0


def _age(node: Mapping[str, Any]) -> float | None:
    """Seconds since the node's creationTimestamp (None when it has none)."""
    stamp = (node.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return None
    try:
        created = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (datetime.datetime.now(datetime.UTC) - created).total_seconds())


class CloudNodeController:
    def __init__(
        self,
        client: RawClient,
        instances: Instances,
        recorder: Recorder,
        get_node: Callable[[str], Obj | None],
        list_nodes: Callable[[], Sequence[Obj]],
        *,
        workers: int = 1,
        status_update_frequency: float = 300.0,
        status_workers: int = 0,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.instances = instances
        self.recorder = recorder
        self.writer = NodeWriter(client)
        self.get_node = get_node
        self.list_nodes = list_nodes
        self.workers = max(1, workers)  # upstream defaulting turns 0 into 1
        self.status_update_frequency = status_update_frequency
        self.status_workers = status_workers or self.workers
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(
            "Nodes", rate_limiter or default_controller_rate_limiter())
        self._sleep = sleep
        self._stop = threading.Event()
        self._threads = Workers(self._stop)

    # ---- informer handlers (enqueue only) --------------------------------------------------
    def on_node_add(self, node: Obj) -> None:
        self.queue.add(name_of(node))

    def on_node_update(self, old: Obj, cur: Obj) -> None:
        self.queue.add(name_of(cur))

    # ---- running ----------------------------------------------------------------------------
    def start(self) -> None:
        """Replay the cache as Adds, start the periodic address refresh and the workers."""
        if self._stop.is_set():
            return
        for node in self.list_nodes():
            self.on_node_add(node)
        if self.status_update_frequency > 0:
            self._threads.every(self.status_update_frequency, self.update_node_status, "node-status-update")
        for i in range(self.workers):
            self._threads.spawn(lambda: drain(self.queue, self._process, self._stop), f"cloud-node-worker-{i}")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.shut_down()
        self._threads.join(timeout)

    def healthy(self) -> tuple[bool, str]:
        return (False, "stopped") if self._stop.is_set() else (True, "ok")

    def _process(self, name: str) -> None:
        try:
            self.sync_node(name)
        except Exception as exc:
            log.error("error syncing '%s': %s, requeuing", name, exc)
            self.queue.add_rate_limited(name)
        else:
            self.queue.forget(name)

    # ---- the sync ---------------------------------------------------------------------------
    def sync_node(self, name: str) -> None:
        node = self.get_node(name)
        if node is None:
            return
        if not has_taint(node, TAINT_UNINITIALIZED):
            self.reconcile_node_labels(node)
            return
        log.info("Initializing node %s with cloud provider", name)
        try:
            meta = self.instances.instance_metadata(node_from_api(node))
        except Exception as exc:
            raise RuntimeError(f"failed to get instance metadata for node {name}: {exc}") from exc
        if meta is None:
            log.info("Skip sync node %s because cloud provided nil metadata", name)
            return
        meta = check_provider_id(meta, node)
        updated = retry_on_conflict(lambda: self._initialize(name, meta), steps=UPDATE_STEPS,
                                    interval=UPDATE_INTERVAL, jitter=UPDATE_JITTER, sleep=self._sleep)
        if updated is None:
            return  # deleted meanwhile
        if (age := _age(updated)) is not None:
            metrics.TAINT_REMOVAL_DELAY.observe(age)
        self.update_node_address(updated, meta)  # at once: addresses should not wait for the periodic loop
        self.recorder.event(updated, NORMAL, "Synced", "Node synced successfully")
        log.info("Successfully initialized node %s with cloud provider", name)
        if (age := _age(updated)) is not None:
            metrics.INITIAL_SYNC_DELAY.observe(age)

    def _initialize(self, name: str, meta: InstanceMetadata) -> Obj | None:
        """One try: the modifiers applied to the cached node, sent as a full Update."""
        current = self.get_node(name)
        if current is None:
            return None
        new, warnings = initialized(current, meta)
        for warning in warnings:
            log.warning("node %s: %s", name, warning)
        return self.writer.update(new)

    def update_node_address(self, node: Mapping[str, Any], meta: InstanceMetadata) -> None:
        """Write the cloud's addresses when they differ; errors are logged, never raised (upstream)."""
        name = name_of(node)
        if has_taint(node, TAINT_UNINITIALIZED):
            log.debug("node %s is still tainted; addresses not updated", name)
            return
        try:
            wanted = desired_addresses(node, cloud_addresses(meta))
        except NodeIPError as exc:
            log.error("node %s: %s; addresses not updated", name, exc)
            return
        if wanted is None:
            log.debug("node %s: the cloud reported no addresses; keeping kubelet's", name)
            return
        if not addresses_changed((node.get("status") or {}).get("addresses") or [], wanted):
            return
        try:
            self.writer.patch_addresses(name, wanted)
        except Exception as exc:
            log.error("node %s: error updating addresses: %s", name, exc)

    def update_node_status(self) -> None:
        """The periodic loop: refresh the addresses of every initialised node, ``status_workers`` at a time."""
        nodes = [n for n in self.list_nodes() if not has_taint(n, TAINT_UNINITIALIZED)]
        if not nodes:
            return
        with ThreadPoolExecutor(self.status_workers, thread_name_prefix="node-status") as pool:
            list(pool.map(self._refresh_addresses, nodes))

    def _refresh_addresses(self, node: Obj) -> None:
        if self._stop.is_set():
            return
        try:
            meta = self.instances.instance_metadata(node_from_api(node))
        except Exception as exc:
            log.error("node %s: error getting instance metadata for the address update: %s", name_of(node), exc)
            return
        if meta is not None:
            self.update_node_address(node, meta)

    def reconcile_node_labels(self, node: Mapping[str, Any]) -> None:
        """Copy each beta label to its GA twin when they differ (one patch, retried on conflict)."""
        wanted = lb.labels_to_reconcile((node.get("metadata") or {}).get("labels") or {})
        if wanted:
            self.writer.set_labels(name_of(node), wanted)
