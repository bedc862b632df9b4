"""Upstream service-controller metrics (§6): same names, no labels, exponential buckets 1..16384 s."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_BUCKETS = tuple(float(2**i) for i in range(15))  # 1, 2, 4, ... 16384

LOADBALANCER_SYNC = Counter(
    "service_controller_loadbalancer_sync_total",
    "A metric counting the amount of times any load balancer has been configured, as an effect of "
    "service/node changes on the cluster",
)
NODESYNC_ERRORS = Counter(
    "service_controller_nodesync_error_total",
    "A metric counting the amount of times any load balancer has been configured and errored, as an "
    "effect of node changes on the cluster",
)
NODESYNC_LATENCY = Histogram(
    "service_controller_nodesync_latency_seconds",
    "A metric measuring the latency for nodesync which updates loadbalancer hosts on cluster node updates.",
    buckets=_BUCKETS,
)
UPDATE_HOST_LATENCY = Histogram(
    "service_controller_update_loadbalancer_host_latency_seconds",
    "A metric measuring the latency for updating each load balancer hosts.",
    buckets=_BUCKETS,
)
