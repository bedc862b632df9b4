"""The forwarding engine's counters as Prometheus metrics, read at scrape time.

The engine keeps plain integers on its loop thread (no locking or label lookups per packet);
this collector asks the engine for them when scraped. kube-proxy has no metrics for a
userspace data plane, so the names are ours, prefixed ``ccm_node_proxy_``; rejections share
one counter with a ``reason`` label, as Envoy's listener overflow and RBAC denials would be
read side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "ccm_node_proxy_"
#: engine stat -> (metric name without prefix, help, "counter" | "gauge")
SIMPLE = {
    "connections": ("tcp_connections", "TCP connections accepted.", "counter"),
    "active": ("tcp_connections_active", "TCP connections open now.", "gauge"),
    "connect_failures": ("backend_dial_failures", "Backend dials that failed or timed out.", "counter"),
    "fd_exhausted": ("resource_exhausted",
                     "Accepts, dials and new UDP flows that failed with EMFILE, ENFILE, ENOBUFS or ENOMEM.",
                     "counter"),
    "accept_pauses": ("accept_pauses", "Times a listener stopped accepting to back off (5 ms doubling to 1 s).",
                      "counter"),
    "udp_flows": ("udp_flows", "UDP flows (client address -> backend socket) open now.", "gauge"),
    "udp_datagrams": ("udp_datagrams", "UDP datagrams received from clients.", "counter"),
    "udp_dropped": ("udp_dropped_datagrams", "UDP datagrams dropped (no flow could be made, or a send failed).",
                    "counter"),
    "udp_evicted": ("udp_evicted_flows", "UDP flows evicted because the flow table was full.", "counter"),
}
#: engine stat -> reason label of ccm_node_proxy_rejected_connections_total
REJECTED = {
    "refused": "source_range",
    "over_limit": "max_connections",
    "untrusted_proxy": "untrusted_proxy_protocol",
    "proxy_protocol_errors": "bad_proxy_protocol",
    "no_backend": "no_endpoints",
}


class EngineCollector(Collector):
    """Collects ``stats()`` of one engine (a ``ThreadedEngine``'s is safe to call from any thread)."""

    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        self._stats = stats

    def describe(self) -> list[Metric]:
        """The families without asking the engine (registration must not need a running loop)."""
        return list(self._families({}))

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self._stats()
        except RuntimeError:  # not started yet, or stopped: nothing counted
            stats = {}
        return self._families(stats)

    @staticmethod
    def _families(stats: dict[str, int]) -> Iterator[Metric]:
        for stat, (name, doc, kind) in SIMPLE.items():
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield cls(PREFIX + name, doc, value=stats.get(stat, 0))
        rejected = CounterMetricFamily(PREFIX + "rejected_connections",
                                       "Connections (or UDP flows) closed or dropped before reaching a backend.",
                                       labels=["reason"])
        for stat, reason in REJECTED.items():
            rejected.add_metric([reason], stats.get(stat, 0))
        yield rejected
