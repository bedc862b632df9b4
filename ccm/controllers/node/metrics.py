"""Upstream cloud-node controller metrics (``controllers/node/metrics.go``): names, help, buckets."""

from __future__ import annotations

from prometheus_client import Histogram

_BUCKETS = tuple(float(4**i) for i in range(6))  # ExponentialBuckets(1, 4, 6): 1, 4, 16, ... 1024 s

TAINT_REMOVAL_DELAY = Histogram(
    "node_controller_cloud_provider_taint_removal_delay_seconds",
    "Number of seconds after node creation when NodeController removed the cloud-provider taint of a single node.",
    buckets=_BUCKETS,
)
INITIAL_SYNC_DELAY = Histogram(
    "node_controller_initial_node_sync_delay_seconds",
    "Number of seconds after node creation when NodeController finished the initial synchronization of a "
    "single node.",
    buckets=_BUCKETS,
)
