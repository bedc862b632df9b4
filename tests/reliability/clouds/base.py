"""What a cloud gives the reliability harness, and the fault plan every cloud's server follows.

One module per cloud under ``tests/reliability/clouds/`` builds a :class:`CloudFixture`: it starts
the cloud's server (moto, an emulator; nothing for the in-process clouds), builds a fresh provider
the way a new ``ccm controller`` process would, names the Nodes of the cluster, lists everything
the cloud holds through the cloud's own API (independently of the provider's inventory), and
routes every request of the controller's provider through one :class:`FaultPlan`:

* ``arm(k)``: the k-th mutating call from now takes effect, then its caller "dies": the response
  is replaced by an error and every later request of that provider instance is refused (a
  fence), so the dead instance changes nothing more. The harness then stops that instance and
  starts a new one, exactly what a restarted process does (see tests/reliability/crashpoints.py).
* ``throttle(fraction)``: that fraction of requests (seeded) fails before it is applied, half
  as throttling (429 / ``Throttling``) and half as a 5xx.

A new cloud (Azure, OpenStack) adds one module here and one entry in ``clouds.CLOUDS``.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from providers.instances import Instances
from providers.port import (
    AnnotationSupport,
    CloudProvider,
    EnsureResult,
    Inventory,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    Planner,
    ProviderWarning,
    RetryError,
)

#: the cluster another controller runs for in the orphan sweep (its resources are never ours)
FOREIGN_CLUSTER = "other-cluster"


class Failure(enum.Enum):
    """How the server answers a request the plan fails (each cloud renders it in its own wire format)."""

    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    #: the caller died at its k-th mutating call: that call took effect, the answer is lost
    CRASHED = "crashed"
    #: a request of a dead caller (it is not served)
    FENCED = "fenced"


class FaultPlan:
    """The server-side decisions for the controller's requests; thread-safe."""

    def __init__(self, seed: int = 8) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(self.seed)
            self.crash_at: int | None = None
            self.fraction = 0.0
            self.fenced = False
            self.crashed = False
            self.mutations = 0  # mutating requests that took effect
            self.after_fence = 0  # mutating requests that took effect while fenced (must stay 0)
            self.failed: Counter[Failure] = Counter()
            self.requests = 0

    def arm(self, k: int) -> None:
        """Crash the caller right after its k-th mutating call from now."""
        with self._lock:
            self.crash_at = self.mutations + k

    def throttle(self, fraction: float) -> None:
        with self._lock:
            self.fraction = fraction

    def restarted(self) -> None:
        """The dead caller is gone and a new one runs: lift the fence (the crash stays recorded)."""
        with self._lock:
            self.fenced = False
            self.crash_at = None

    # ---- what a server asks ----------------------------------------------------------------
    def before(self) -> Failure | None:
        """Before serving a request: refuse it (fenced or throttled) or let it through."""
        with self._lock:
            self.requests += 1
            if self.fenced:
                self.failed[Failure.FENCED] += 1
                return Failure.FENCED
            if self.fraction and self._rng.random() < self.fraction:
                failure = Failure.THROTTLED if self._rng.random() < 0.5 else Failure.UNAVAILABLE
                self.failed[failure] += 1
                return failure
        return None

    def after(self, mutating: bool, ok: bool = True) -> Failure | None:
        """After a request was applied: ``CRASHED`` when it was the armed k-th mutating call."""
        if not mutating or not ok:
            return None
        with self._lock:
            if self.fenced:
                self.after_fence += 1
                return Failure.FENCED
            self.mutations += 1
            if self.crash_at is not None and self.mutations >= self.crash_at:
                self.fenced = self.crashed = True
                self.failed[Failure.CRASHED] += 1
                return Failure.CRASHED
        return None


class CloudFixture(Protocol):
    """What one cloud module provides (see the module docstring)."""

    #: the ``--cloud-provider`` name
    name: str
    #: variant -> the annotations that select it (AWS: clb, nlb); one entry "" when the cloud has one type
    variants: Mapping[str, Mapping[str, str]]
    #: the cluster name the controller runs with (what the ownership tags say)
    cluster: str
    #: the provider label of its upstream ``cloudprovider_<p>_api_*`` metrics (GCP: gce, as upstream)
    metrics_name: str
    faults: FaultPlan
    #: the harness checks convergence with the controller's own provider (the local cloud's listeners
    #: live in the controller's process); otherwise with a provider of its own
    plan_with_controller_cloud: bool
    #: its inventory tells clusters apart (the fake's lists every load balancer it holds)
    multi_cluster: bool

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def reset(self) -> None:
        """An empty cloud (the seeded world only), no faults."""

    def make_cloud(self, cluster: str | None = None) -> CloudProvider:
        """A provider as a new controller process builds it; its requests go through :attr:`faults`.

        ``cluster`` runs it for another cluster (the orphan sweep's foreign resources); the fake
        cloud, single-cluster by construction, ignores it.
        """

    def make_probe(self, cluster: str | None = None) -> CloudProvider:
        """A provider for the harness's own reads (planning, inventory), outside the fault plan."""

    def nodes(self) -> Sequence[dict[str, Any]]:
        """The cluster's Node objects."""

    def spare_node(self) -> dict[str, Any]:
        """One more Node, backed by a machine the cloud knows."""

    def list_all(self) -> list[str]:
        """``"<type> <name>"`` of everything made through the cloud's API, from the cloud itself."""

    def mutating_calls(self) -> int:
        """Mutating requests the server received so far (every caller, any outcome)."""


class Traits:
    """The defaults of :class:`CloudFixture`'s descriptive attributes; a cloud overrides what differs."""

    variants: Mapping[str, Mapping[str, str]] = {"": {}}
    cluster = "kubernetes"
    plan_with_controller_cloud = False
    multi_cluster = True

    @property
    def metrics_name(self) -> str:
        return str(getattr(self, "name", ""))


def types_of(listing: Sequence[str]) -> Counter[str]:
    """How many resources of each type a :meth:`CloudFixture.list_all` listing holds."""
    return Counter(item.split(" ", 1)[0] for item in listing)


def node(name: str, address: str, provider_id: str = "", labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": dict(labels or {})}, "spec": {"providerID": provider_id},
            "status": {"addresses": [{"type": "InternalIP", "address": address}],
                       "conditions": [{"type": "Ready", "status": "True"}]}}


# ---- for clouds without a server: the plan applied at the provider's boundary --------------------


class Crashed(Exception):
    """What the dead instance's caller sees (its process is gone: nothing it does counts any more)."""


def raise_for(failure: Failure | None, where: str) -> None:
    if failure is None:
        return
    if failure in (Failure.CRASHED, Failure.FENCED):
        raise Crashed(f"{where}: the controller process died here ({failure.value})")
    if failure is Failure.THROTTLED:  # what an adapter makes of throttling: come back after Retry-After
        raise RetryError(f"{where}: injected throttling (HTTP 429, Retry-After: 1)", retry_after=1.0)
    raise ConnectionError(f"{where}: injected HTTP 503")


@dataclasses.dataclass
class Hooks:
    """The plan as an in-process cloud applies it: at method entry, and after each mutating call."""

    faults: FaultPlan
    #: the provider's ApiCallCounter: a refused call counts as a failed request, as a real server's would
    counter: Any = None

    def enter(self, where: str) -> None:
        failure = self.faults.before()
        if failure is not None and self.counter is not None:
            self.counter.record("loadbalancers", where, mutating=False, ok=False,
                                throttled=failure is Failure.THROTTLED)
        raise_for(failure, where)

    def mutated(self, where: str) -> None:
        raise_for(self.faults.after(True), where)


def hooked_counter(counter: Any, hooks: Hooks) -> Any:
    """The provider's ApiCallCounter, reporting each mutating call to ``hooks`` right after it took effect.

    An in-process cloud records a mutating call after making it: raising there is the process
    dying with the change made and the answer lost.
    """
    record: Callable[..., None] = counter.record

    def hooked(service: str, operation: str, mutating: bool, ok: bool = True, **kw: Any) -> None:
        record(service, operation, mutating, ok, **kw)
        if mutating and ok:
            hooks.mutated(f"{service} {operation}")

    counter.record = hooked
    return counter


class HookedLoadBalancer(LoadBalancer):
    """An in-process cloud's load balancer as a controller process sees it: every call enters the plan."""

    def __init__(self, inner: LoadBalancer, hooks: Hooks) -> None:
        self.inner = inner
        self.hooks = hooks

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        self.hooks.enter("get")
        return self.inner.get(request)

    def name(self, request: LoadBalancerRequest) -> str:
        return self.inner.name(request)

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        self.hooks.enter("ensure")
        return self.inner.ensure(request)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        self.hooks.enter("update")
        return self.inner.update(request)

    def delete(self, request: LoadBalancerRequest) -> None:
        self.hooks.enter("delete")
        self.inner.delete(request)


class HookedCloud(CloudProvider):
    """An in-process cloud for one controller instance: its load balancer behind the plan, the rest as is."""

    def __init__(self, inner: CloudProvider, hooks: Hooks, on_close: Callable[[], None] | None = None) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.annotation_provider = inner.annotation_provider  # type: ignore[misc]
        lb = inner.load_balancer()
        self._lb = HookedLoadBalancer(lb, hooks) if lb is not None else None
        self._on_close = on_close

    def load_balancer(self) -> LoadBalancer | None:
        return self._lb

    def instances(self) -> Instances | None:
        return self.inner.instances()

    def planner(self) -> Planner | None:
        return self.inner.planner()

    def inventory(self) -> Inventory | None:
        return self.inner.inventory()

    def annotation_support(self) -> AnnotationSupport:
        return self.inner.annotation_support()

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
