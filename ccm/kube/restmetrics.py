"""client-go's REST client metrics and client-side rate limit (``--kube-api-qps``/``--kube-api-burst``).

Wraps an official-client ``ApiClient``'s ``call_api`` (every request of the official client and of
:class:`ccm.kube.client.RawClient` goes through it, watches included) so that each request first
takes a token from a ``qps``/``burst`` bucket, as client-go's ``flowcontrol`` limiter does, and
then counts in component-base's ``rest_client_*`` families: requests by code, method and host;
latency (to the response headers) and rate-limiter wait by verb and host.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

import kubernetes.client
from prometheus_client import Counter, Histogram

_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
REQUESTS = Counter("rest_client_requests_total",
                   "Number of HTTP requests, partitioned by status code, method, and host.",
                   ["code", "method", "host"])
LATENCY = Histogram("rest_client_request_duration_seconds",
                    "Request latency in seconds. Broken down by verb, and host.", ["verb", "host"], buckets=_BUCKETS)
RATE_LIMITER = Histogram("rest_client_rate_limiter_duration_seconds",
                         "Client side rate limiter latency in seconds. Broken down by verb, and host.",
                         ["verb", "host"], buckets=_BUCKETS)


class TokenBucket:
    """Blocking token bucket: ``take()`` returns once a token is available (golang.org/x/time/rate Wait)."""

    def __init__(self, qps: float, burst: int) -> None:
        if qps <= 0 or burst <= 0:
            raise ValueError("--kube-api-qps and --kube-api-burst must be positive")
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Reserve a token and wait for it; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1.0
            delay = 0.0 if self._tokens >= 0 else -self._tokens / self.qps
        if delay > 0:
            time.sleep(delay)
        return delay


def instrument(api_client: kubernetes.client.ApiClient, qps: float | None = None,
               burst: int | None = None) -> kubernetes.client.ApiClient:
    """Count and time every request of ``api_client``, rate-limited when ``qps`` is given. Returns it."""
    bucket = TokenBucket(qps, burst or max(1, int(qps))) if qps else None
    inner = api_client.call_api

    def call_api(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        host = urllib.parse.urlsplit(url).netloc
        if bucket is not None:
            RATE_LIMITER.labels(method, host).observe(bucket.take())
        start = time.monotonic()
        code = "<error>"
        try:
            response = inner(method, url, *args, **kwargs)
            code = str(getattr(response, "status", "<error>"))
            return response
        except kubernetes.client.ApiException as exc:
            code = str(exc.status or "<error>")
            raise
        finally:
            LATENCY.labels(method, host).observe(time.monotonic() - start)
            REQUESTS.labels(code, method, host).inc()

    api_client.call_api = call_api  # type: ignore[method-assign]
    return api_client
