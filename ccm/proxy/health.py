"""kube-proxy's health endpoints, byte-compatible (peers.md §2.1 and §2.2).

* ``/healthz`` and ``/livez`` on ``--healthz-bind-address``: healthy unless an update has
  been queued for longer than ``health_timeout`` (2 x sync period); ``/healthz`` also
  needs the Node to be eligible (no deletionTimestamp, no ToBeDeletedByClusterAutoscaler).
* one server per ``healthCheckNodePort`` (ETP=Local LoadBalancer Services): any method,
  any path; 200 iff the node has local ready endpoints and the proxy is healthy; the count
  also goes in ``X-Load-Balancing-Endpoint-Weight``, as kube-proxy sends it.
"""

from __future__ import annotations

import datetime
import json
import threading
import time

from prometheus_client import Counter

from ccm.proxy import httpd

_MONO_START = time.monotonic()
JSON_HEADERS = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]

HEALTHZ_TOTAL = Counter("kubeproxy_proxy_healthz", "Cumulative proxy healthz HTTP status", ["code"])
LIVEZ_TOTAL = Counter("kubeproxy_proxy_livez", "Cumulative proxy livez HTTP status", ["code"])


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings we emit (JSON escaping agrees with it for printable text)."""
    return json.dumps(text, ensure_ascii=False)


def go_time(wall_ns: int, mono: float) -> str:
    """Go's ``time.Time.String()`` for a UTC time read from ``clock.Now()`` (with ``m=+...``)."""
    seconds, nanos = divmod(wall_ns, 1_000_000_000)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{stamp}{frac} +0000 UTC m={mono - _MONO_START:+.9f}"


class ProxyHealth:
    """The proxier's health clock: when an update was queued and when the last sync finished."""

    def __init__(self, health_timeout: float = 60.0) -> None:
        self.health_timeout = health_timeout
        self._lock = threading.Lock()
        self._queued_at: float | None = None
        self._updated: tuple[int, float] = (time.time_ns(), time.monotonic())
        self.node_eligible = True

    def queued(self) -> None:
        """An update is waiting (called from informer threads); the oldest one counts."""
        with self._lock:
            if self._queued_at is None:
                self._queued_at = time.monotonic()

    def begin_sync(self) -> float | None:
        """Take the queued mark at the start of a sync; updates queued later stay pending."""
        with self._lock:
            queued, self._queued_at = self._queued_at, None
            return queued

    def updated(self) -> None:
        with self._lock:
            self._updated = (time.time_ns(), time.monotonic())

    def requeue(self, queued: float | None) -> None:
        """A sync failed: its update is still pending since ``queued``."""
        if queued is None:
            return
        with self._lock:
            if self._queued_at is None or queued < self._queued_at:
                self._queued_at = queued

    def healthy(self) -> tuple[bool, tuple[int, float], tuple[int, float]]:
        """(healthy, last updated, now) as (wall ns, monotonic) pairs."""
        now = (time.time_ns(), time.monotonic())
        with self._lock:
            queued, updated = self._queued_at, self._updated
        ok = queued is None or now[1] - queued < self.health_timeout
        return ok, (now if ok else updated), now

    # -- handlers --------------------------------------------------------------------------
    def handle(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if path not in ("/healthz", "/livez"):
            return httpd.not_found()
        ok, last, now = self.healthy()
        times = f'{{"lastUpdated": {go_quote(go_time(*last))},"currentTime": {go_quote(go_time(*now))}'
        if path == "/healthz":
            eligible = self.node_eligible
            code = 200 if ok and eligible else 503
            body = f'{times}, "nodeEligible": {"true" if eligible else "false"}}}'
            HEALTHZ_TOTAL.labels(str(code)).inc()
        else:
            code = 200 if ok else 503
            body = f"{times}}}"
            LIVEZ_TOTAL.labels(str(code)).inc()
        return code, list(JSON_HEADERS), body.encode()


def service_health_body(namespace: str, name: str, local_endpoints: int, healthy: bool) -> bytes:
    return (
        "{\n"
        '\t"service": {\n'
        f'\t\t"namespace": {go_quote(namespace)},\n'
        f'\t\t"name": {go_quote(name)}\n'
        "\t},\n"
        f'\t"localEndpoints": {local_endpoints},\n'
        f'\t"serviceProxyHealthy": {"true" if healthy else "false"}\n'
        "}"
    ).encode()


class ServiceHealth:
    """The handler of one Service's healthCheckNodePort; the count is updated on each sync."""

    def __init__(self, proxy: ProxyHealth, namespace: str, name: str, local_endpoints: int) -> None:
        self.proxy = proxy
        self.namespace = namespace
        self.name = name
        self.local_endpoints = local_endpoints

    def handle(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        healthy = self.proxy.healthy()[0]
        count = self.local_endpoints
        code = 200 if count and healthy else 503
        # the weight a weighted balancer (GCE WEIGHTED_MAGLEV) gives this node: its endpoint count
        headers = [*JSON_HEADERS, ("X-Load-Balancing-Endpoint-Weight", str(count))]
        return code, headers, service_health_body(self.namespace, self.name, count, healthy)
