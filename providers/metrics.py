"""Instrumentation: every provider operation and every cloud API request, countable from /metrics.

Three views of the same traffic:

* ``ccm_provider_operations_total`` / ``ccm_provider_operation_duration_seconds``: the five
  load-balancer methods as the controller calls them (:class:`InstrumentedLoadBalancer`).
* ``ccm_cloud_api_requests_total``: every request an adapter sent, mutating or read, by cloud
  service and operation (one series layout for all clouds).
* the upstream per-cloud metrics, so dashboards built for the Go cloud providers keep working:
  ``cloudprovider_<provider>_api_request_duration_seconds`` (histogram) and
  ``cloudprovider_<provider>_api_request_errors`` (counter), label ``request`` plus the
  extra labels that cloud's upstream uses (GCE ``region``/``zone``/``version``; Azure
  ``resource_group``/``subscription_id``/``source``) where the adapter knows them.

Adapters count through one :class:`ApiCallCounter`; benchmarks and tests read its in-process
:meth:`ApiCallCounter.snapshot`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

from providers.port import (
    EnsureResult,
    ImplementedElsewhere,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    ProviderWarning,
    RetryError,
    UserError,
)

PROVIDER_OPERATIONS = Counter(
    "ccm_provider_operations_total",
    "Load-balancer operations called on the provider, by result.",
    ["provider", "operation", "result"],
)
PROVIDER_OPERATION_SECONDS = Histogram(
    "ccm_provider_operation_duration_seconds",
    "Duration of load-balancer operations on the provider.",
    ["provider", "operation"],
)
CLOUD_API_REQUESTS = Counter(
    "ccm_cloud_api_requests_total",
    "Requests an adapter sent to its cloud API, mutating or read.",
    ["provider", "service", "operation", "kind", "result"],
)
#: cloud calls range from milliseconds (a describe) to minutes (an Azure load-balancer PUT)
API_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

_RESULT_OF = {
    ImplementedElsewhere: "implemented_elsewhere",
    RetryError: "retry",
    UserError: "user_error",
}


def result_label(exc: BaseException | None) -> str:
    if exc is None:
        return "success"
    for cls, label in _RESULT_OF.items():
        if isinstance(exc, cls):
            return label
    return "error"


def request_label(operation: str) -> str:
    """``DescribeLoadBalancers`` -> ``describe_load_balancers`` (upstream's ``request`` values)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", operation).lower()


class _UpstreamMetrics:
    """The ``cloudprovider_<provider>_api_request_*`` pair of one provider (created once per process)."""

    _lock = threading.Lock()
    _made: dict[str, _UpstreamMetrics] = {}

    def __init__(self, provider: str, extra_labels: Sequence[str]) -> None:
        self.extra_labels = tuple(extra_labels)
        labels = ["request", *self.extra_labels]
        self.prefix = "cloudprovider_" + re.sub(r"[^A-Za-z0-9_]", "_", provider) + "_api"
        self.provider = provider
        self.duration = Histogram(f"{self.prefix}_request_duration_seconds", f"Latency of {provider} API calls",
                                  labels, buckets=API_REQUEST_BUCKETS)
        self.errors = Counter(f"{self.prefix}_request_errors", f"{provider} API errors", labels)
        self._throttled: Counter | None = None

    @property
    def throttled(self) -> Counter:
        """``cloudprovider_<provider>_api_throttled_requests_total`` (AWS upstream), made on first use."""
        with self._lock:
            if self._throttled is None:
                self._throttled = Counter(f"{self.prefix}_throttled_requests_total",
                                          f"{self.provider} API throttled requests", ["operation_name"])
            return self._throttled

    @classmethod
    def of(cls, provider: str, extra_labels: Sequence[str]) -> _UpstreamMetrics:
        with cls._lock:
            made = cls._made.get(provider)
            if made is None:
                made = cls._made[provider] = cls(provider, extra_labels)
            elif made.extra_labels != tuple(extra_labels):
                raise ValueError(f"{provider}: API metrics already registered with labels {made.extra_labels}")
            return made


class ApiCallCounter:
    """Counts one adapter's cloud API requests; thread-safe, also readable in-process.

    ``mutating`` is decided by the adapter (AWS: Create/Delete/Modify/Register/...;
    REST clouds: any method but GET). ``extra_labels`` names the upstream labels beyond
    ``request`` this provider's histogram carries; :meth:`record` takes their values.
    Benchmarks and tests read :meth:`snapshot`.
    """

    def __init__(self, provider: str, extra_labels: Sequence[str] = ()) -> None:
        self.provider = provider
        self._upstream = _UpstreamMetrics.of(provider, extra_labels)
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, bool], int] = {}

    def record(self, service: str, operation: str, mutating: bool, ok: bool = True, *, seconds: float | None = None,
               labels: Mapping[str, str] | None = None, throttled: bool = False) -> None:
        """One request: ``operation`` as the cloud names it (``DescribeLoadBalancers``, ``insert``).

        As upstream, a success observes its ``seconds`` in the duration histogram and a failure
        counts in the errors counter; ``throttled`` also counts it as throttled.
        """
        kind = "mutating" if mutating else "read"
        CLOUD_API_REQUESTS.labels(self.provider, service, operation, kind, "success" if ok else "error").inc()
        values = [request_label(operation), *((labels or {}).get(k, "") for k in self._upstream.extra_labels)]
        if not ok:
            self._upstream.errors.labels(*values).inc()
        elif seconds is not None:
            self._upstream.duration.labels(*values).observe(seconds)
        if throttled:
            self._upstream.throttled.labels(values[0]).inc()
        with self._lock:
            k = (service, operation, mutating)
            self._counts[k] = self._counts.get(k, 0) + 1

    def snapshot(self) -> dict[tuple[str, str, bool], int]:
        with self._lock:
            return dict(self._counts)

    def totals(self) -> tuple[int, int]:
        """(mutating, read) request counts so far."""
        snap = self.snapshot()
        mutating = sum(n for (_, _, m), n in snap.items() if m)
        return mutating, sum(snap.values()) - mutating


class InstrumentedLoadBalancer(LoadBalancer):
    """Wraps an adapter to count and time every operation (used by the controller)."""

    def __init__(self, inner: LoadBalancer, provider: str) -> None:
        self.inner = inner
        self.provider = provider

    @contextmanager
    def _measure(self, operation: str) -> Iterator[None]:
        start = time.monotonic()
        exc: BaseException | None = None
        try:
            yield
        except BaseException as e:
            exc = e
            raise
        finally:
            PROVIDER_OPERATIONS.labels(self.provider, operation, result_label(exc)).inc()
            PROVIDER_OPERATION_SECONDS.labels(self.provider, operation).observe(time.monotonic() - start)

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        with self._measure("get"):
            return self.inner.get(request)

    def name(self, request: LoadBalancerRequest) -> str:
        return self.inner.name(request)

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        with self._measure("ensure"):
            return self.inner.ensure(request)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        with self._measure("update"):
            return self.inner.update(request)

    def delete(self, request: LoadBalancerRequest) -> None:
        with self._measure("delete"):
            self.inner.delete(request)
