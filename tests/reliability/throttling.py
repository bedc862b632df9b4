"""Throttling and 5xx: a fraction of the controller's cloud requests fails at the server, yet every
Service converges, nothing leaks, and the backoff shows in the metrics.

The fault plan (clouds/base.py) fails a seeded fraction (20% by default) of every request of the
controller's provider before it is applied, half as throttling (HTTP 429 / AWS ``Throttling``),
half as 503. N Services are created at once and must each reach the state the provider would
send nothing more for; then all are deleted; with the faults still on. Leftovers are counted by
the cloud's own listing and the provider's inventory, with the faults off. The figures: the time
to converge and to delete, the requests the server failed, and what the controller's metrics
saw: ``cloudprovider_<p>_api_request_errors`` (every failed attempt, SDK retries included),
``cloudprovider_<p>_api_throttled_requests_total`` (AWS), ``workqueue_retries_total{name=
"service"}`` (requeues with backoff) and ``ccm_provider_operations_total`` by result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from prometheus_client import REGISTRY

from tests.reliability.clouds.base import Failure
from tests.reliability.providerenv import Env, poll


def metric_sum(metric: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels`` (0 when it does not exist)."""
    total = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _metrics(provider: str, metrics_name: str) -> dict[str, float]:
    prefix = f"cloudprovider_{metrics_name}_api"
    return {
        "api_errors": metric_sum(f"{prefix}_request_errors_total"),
        "api_throttled": metric_sum(f"{prefix}_throttled_requests_total"),
        "requeues": metric_sum("workqueue_retries_total", name="service"),
        "provider_errors": sum(metric_sum("ccm_provider_operations_total", provider=provider, result=r)
                               for r in ("error", "retry")),
    }


@dataclasses.dataclass
class Outcome:
    cloud: str
    variant: str
    services: int
    fraction: float
    converged: int
    deleted: int
    converge_seconds: float
    delete_seconds: float
    requests: int
    failed: dict[str, int]
    metrics: dict[str, float]
    leftovers: list[str]

    @property
    def ok(self) -> bool:
        return self.converged == self.deleted == self.services and not self.leftovers

    def row(self) -> str:
        m = self.metrics
        return (f"| {self.cloud}{' ' + self.variant if self.variant else ''} | {self.services} | "
                f"{self.converged}/{self.services} | {self.converge_seconds:.1f} | {self.delete_seconds:.1f} | "
                f"{len(self.leftovers)} | {self.requests} | {self.failed.get('throttled', 0)} / "
                f"{self.failed.get('unavailable', 0)} | {m['api_errors']:.0f} | {m['api_throttled']:.0f} | "
                f"{m['requeues']:.0f} | {m['provider_errors']:.0f} |")


HEADER = ("| cloud | services | converged | seconds to converge | seconds to delete | leftovers | requests | "
          "failed at the server (429 / 503) | api_request_errors | api_throttled | requeues | failed provider "
          "calls |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def run(env: Env, variant: str, annotations: Mapping[str, str], services: int, *, fraction: float = 0.2,
        timeout: float = 120.0, seed: int | None = None) -> Outcome:
    """``seed`` picks which requests fail (the plan's default otherwise)."""
    faults = env.cloud.faults
    if seed is not None:
        faults.seed = seed
    faults.reset()
    before_listing = env.cloud.list_all()
    names = [f"thr-{variant or 'svc'}-{i}" for i in range(services)]
    provider = env.cloud.name
    start = _metrics(provider, env.cloud.metrics_name)
    instance = env.start()
    try:
        faults.throttle(fraction)
        started = time.monotonic()
        for name in names:
            env.create_service(name, annotations)
        pending = set(names)

        def all_converged() -> bool:
            pending.difference_update([n for n in sorted(pending) if env.converged(n, instance)])
            return not pending

        poll(all_converged, timeout)
        converged = services - len(pending)
        converge_seconds = time.monotonic() - started
        started = time.monotonic()
        for name in names:
            env.raw.delete(env.service_path(name))
        poll(lambda: all(env.gone(n) for n in names), timeout)
        deleted = sum(1 for n in names if env.gone(n))
        delete_seconds = time.monotonic() - started
        faults.throttle(0.0)
        leftovers = [*(f"cloud: {x}" for x in env.cloud.list_all() if x not in before_listing),
                     *(f"inventory: {x}" for x in env.owned(instance))]
    finally:
        faults.throttle(0.0)
        instance.kill()
    end = _metrics(provider, env.cloud.metrics_name)
    return Outcome(provider, variant, services, fraction, converged, deleted, converge_seconds, delete_seconds,
                   faults.requests, {f.value: faults.failed[f] for f in (Failure.THROTTLED, Failure.UNAVAILABLE)},
                   {k: end[k] - start[k] for k in end}, leftovers)
