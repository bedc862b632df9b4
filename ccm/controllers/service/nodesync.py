"""Node sync (§2.3-§2.4): push the current eligible node set to every cached Service's load balancer.

Nodes are listed per Service at the moment it is processed, and ``lastSyncedNodes`` is written
before the cloud call, so a slow pass can never push a stale host set over a newer one that a
service worker (or a later pass) already sent (upstream TestSlowNodeSync, kubernetes#121090).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from ccm.controllers.service import events as ev
from ccm.controllers.service import metrics
from ccm.controllers.service.nodeset import NodeSet
from ccm.controllers.service.predicates import Obj, loggable_node_names, wants_load_balancer
from ccm.controllers.service.sync import ServiceSyncer
from providers.port import ImplementedElsewhere, LoadBalancerRequest

log = logging.getLogger(__name__)


class NodeSyncer:
    """Shares the service syncer's cloud, recorder, caches and node sets (upstream: one controller)."""

    def __init__(self, syncer: ServiceSyncer, *, workers: int) -> None:
        self.syncer = syncer
        self.lb = syncer.lb
        self.recorder = syncer.recorder
        self.cache = syncer.cache
        self.last_synced = syncer.last_synced
        self.classes = syncer.classes
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(self.workers, "node-sync") if self.workers > 1 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def sync_nodes(self) -> set[str]:
        """One pass over all cached Services; returns the keys whose update failed (to re-sync)."""
        start = time.monotonic()
        services = self.cache.all()
        if self._pool is not None and len(services) > 1:
            results = list(self._pool.map(lambda kv: (kv[0], self.sync_service(kv[0], kv[1])), services))
        else:
            results = [(k, self.sync_service(k, s)) for k, s in services]
        metrics.NODESYNC_LATENCY.observe(time.monotonic() - start)
        retry = {k for k, failed in results if failed}
        if retry:
            log.info("node sync: %d load balancers to retry", len(retry))
        return retry

    def sync_service(self, key: str, svc: Obj | None) -> bool:
        """nodeSyncService: True when the Service needs a retry."""
        if svc is None or not wants_load_balancer(svc, self.classes):
            return False
        try:
            new = self.syncer.node_sets.current()  # listed now, per Service (kubernetes#121090)
        except Exception as exc:
            log.error("%s: failed to list nodes: %s", key, exc)
            metrics.NODESYNC_ERRORS.inc()
            return True
        # Upstream re-filters the stored set; it holds read-only objects that passed the same
        # predicates, so the result could not differ.
        old = self.last_synced.get(key)
        self.last_synced.set(key, new)  # before the cloud call
        if old.sufficiently_equal(new):
            return False
        parsed = self.syncer.parse_annotations(svc)
        if not parsed.ok:
            # The service worker refuses invalid annotations and pushes the current nodes once
            # they are fixed (an annotation change always triggers an ensure).
            log.info("%s: invalid annotations; host update left to the next ensure", key)
            return False
        err = self.update_hosts(svc, key, self.syncer.lenient_request(svc, parsed), new)
        if err is not None:
            log.error("%s: failed to update load balancer hosts: %s", key, err)
            metrics.NODESYNC_ERRORS.inc()
            return True
        return False

    def update_hosts(self, svc: Obj, key: str, request: LoadBalancerRequest, hosts: NodeSet) -> Exception | None:
        """lockedUpdateLoadBalancerHosts (there is no lock upstream either)."""
        metrics.LOADBALANCER_SYNC.inc()
        start = time.monotonic()
        try:
            warnings = self.lb.update(request.with_nodes(hosts.nodes))
        except ImplementedElsewhere:
            return None
        except Exception as exc:
            try:
                exists = self.lb.get(request) is not None
            except Exception as get_exc:
                log.error("%s: failed to check load balancer existence after update error: %s", key, get_exc)
                exists = True
            if not exists:
                return None  # gone: nothing to update
            self.recorder.event(
                svc, ev.WARNING, ev.UPDATE_FAILED,
                f"Error updating load balancer with new hosts {loggable_node_names(hosts.objects)} "
                f"[node names limited, total number of nodes: {len(hosts)}], error: {exc}",
            )
            return exc
        finally:
            metrics.UPDATE_HOST_LATENCY.observe(time.monotonic() - start)
        if not hosts:
            self.recorder.event(svc, ev.WARNING, ev.UNAVAILABLE, ev.MSG_NO_NODES)
        else:
            self.recorder.event(svc, ev.NORMAL, ev.UPDATED, ev.MSG_UPDATED)
        for w in warnings:
            self.recorder.event(svc, ev.WARNING, w.reason, w.message)
        log.info("%s: updated load balancer hosts (%d nodes)", key, len(hosts))
        return None
