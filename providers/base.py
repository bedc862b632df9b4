"""The provider interface and the provider-neutral load-balancer model.

Modelled on k8s.io/cloud-provider ``cloud.go``: a cloud hands out an optional
:class:`LoadBalancer` capability with five methods (get, name, ensure, update,
delete). The service controller builds one immutable :class:`LoadBalancerRequest`
per call from the Service, the eligible Nodes and the already-validated
annotations; adapters translate it into cloud resources and never see a
Kubernetes object, never talk to the API server, and never mutate their input.

Errors are part of the contract:

* :class:`ImplementedElsewhere` - ``ensure``/``update`` may raise it to hand the
  Service to another controller; the service controller then treats the call as
  a no-op (the finalizer is still managed). ``delete`` must never raise it.
* :class:`RetryError` - "poll again after ``retry_after`` seconds" (e.g. a
  long-running cloud operation, or throttling after the SDK's own retries);
  the controller requeues at that fixed delay instead of exponential backoff.
* :class:`UserError` - the request cannot be satisfied as written (an invalid
  ``loadBalancerIP``, a resource with our name that is not ours, a create-only
  setting changed). It surfaces as a Warning event carrying ``reason`` and the
  message; it is retried with backoff like any error, since the user may fix it.
* any other exception - a transient failure; exponential backoff.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from prometheus_client import Counter, Histogram

if TYPE_CHECKING:
    from providers.instances import Instances

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ProviderError(Exception):
    """Base of every error an adapter raises on purpose."""


class ImplementedElsewhere(ProviderError):
    """The load balancer for this Service is implemented by another controller."""


class RetryError(ProviderError):
    """Ask the controller to retry after a fixed delay (upstream ``api.RetryError``)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = float(retry_after)


class UserError(ProviderError):
    """The Service asks for something this cloud cannot do as written.

    ``reason`` is a CamelCase event reason (for example ``InvalidLoadBalancerIP``,
    ``ForeignLoadBalancer``); the message says what is wrong and what is accepted.
    """

    def __init__(self, message: str, reason: str = "InvalidLoadBalancerConfiguration") -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# The neutral request
# --------------------------------------------------------------------------------------------

Protocol_ = Literal["TCP", "UDP", "SCTP"]


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclasses.dataclass(frozen=True, slots=True)
class ServicePort:
    """One entry of ``spec.ports``; ``target_port`` is an int or a port name."""

    name: str
    protocol: str
    port: int
    node_port: int
    target_port: int | str | None = None
    app_protocol: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NodeAddress:
    type: str  # InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS
    address: str


@dataclasses.dataclass(frozen=True, slots=True)
class Node:
    """An eligible backend node (already filtered by the controller's node predicates)."""

    name: str
    provider_id: str = ""
    addresses: tuple[NodeAddress, ...] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.labels, MappingProxyType):
            object.__setattr__(self, "labels", _frozen_mapping(self.labels))

    def address_of(self, *types: str) -> str | None:
        """First address of the first listed type present (e.g. ``"InternalIP", "ExternalIP"``)."""
        for t in types:
            for a in self.addresses:
                if a.type == t:
                    return a.address
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class HealthCheck:
    """Node health check for ``externalTrafficPolicy: Local`` (upstream GetServiceHealthCheckPathPort)."""

    path: str
    port: int


@dataclasses.dataclass(frozen=True, slots=True)
class LoadBalancerRequest:
    """Everything an adapter may know about one Service's load balancer.

    ``annotations`` holds the validated, typed values of the annotations the
    annotation registry declares for this provider (absent keys mean "unset";
    use :meth:`annotation` to read one with its declared default).
    ``source_ranges`` follows upstream GetLoadBalancerSourceRanges: the spec field,
    else the legacy annotation, else ``("0.0.0.0/0",)``; each entry is a
    normalised CIDR string. ``source_ranges_set`` is False when the default applied.
    """

    cluster_name: str
    namespace: str
    name: str
    uid: str
    ports: tuple[ServicePort, ...] = ()
    nodes: tuple[Node, ...] = ()
    source_ranges: tuple[str, ...] = ("0.0.0.0/0",)
    source_ranges_set: bool = False
    health_check: HealthCheck | None = None
    external_traffic_policy: str = "Cluster"
    session_affinity: str = "None"
    session_affinity_timeout: int | None = None
    ip_families: tuple[str, ...] = ("IPv4",)
    ip_family_policy: str | None = None
    requested_ip: str | None = None
    #: ips currently in status.loadBalancer.ingress (upstream adapters read svc.Status too)
    current_ips: tuple[str, ...] = ()
    load_balancer_class: str | None = None
    annotations: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for f in ("annotations", "labels"):
            v = getattr(self, f)
            if not isinstance(v, MappingProxyType):
                object.__setattr__(self, f, _frozen_mapping(v))

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def annotation(self, decl: Any) -> Any:
        """The typed value of an annotation declaration, or its declared default when unset."""
        key = decl.key if hasattr(decl, "key") else str(decl)
        if key in self.annotations:
            return self.annotations[key]
        return getattr(decl, "default", None)

    def with_nodes(self, nodes: tuple[Node, ...]) -> LoadBalancerRequest:
        return dataclasses.replace(self, nodes=nodes)


def default_load_balancer_name(uid: str) -> str:
    """Upstream ``DefaultLoadBalancerName``: "a" + uid without dashes, cut to 32 characters.

    "a" because GCE names need a leading lowercase letter; 32 because of the AWS ELB limit.
    """
    return ("a" + uid).replace("-", "")[:32]


# --------------------------------------------------------------------------------------------
# The status adapters return
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PortStatus:
    port: int
    protocol: str
    error: str | None = None  # a CamelCase reason; no peer fills it, we do


@dataclasses.dataclass(frozen=True, slots=True)
class Ingress:
    ip: str | None = None
    hostname: str | None = None
    ip_mode: str | None = None  # "VIP" | "Proxy"; the controller normalises None to VIP for ips
    ports: tuple[PortStatus, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class LoadBalancerStatus:
    ingress: tuple[Ingress, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderWarning:
    """Something the user should see as a Warning event although the call succeeded."""

    reason: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class EnsureResult:
    status: LoadBalancerStatus
    warnings: tuple[ProviderWarning, ...] = ()


# --------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------


class LoadBalancer(abc.ABC):
    """A cloud's load-balancer capability (upstream ``cloudprovider.LoadBalancer``).

    Obligations for every implementation:

    * Inputs are read-only (they are frozen; do not try to work around that).
    * Resources are named deterministically from the request (see :meth:`name`)
      and tagged as owned by ``cluster_name`` and the Service, so a crash or a
      restart never duplicates or orphans anything. A resource with our name that
      does not carry our ownership tags is never adopted, modified or deleted:
      raise :class:`UserError` (reason ``ForeignLoadBalancer``).
    * Every method is safe to call concurrently for the same Service from the
      service worker (``ensure``) and the node-sync worker (``update``).
    * A call repeated with the same request makes no second mutating cloud call.
    """

    @abc.abstractmethod
    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        """Return the current status, or None when no load balancer this cluster created exists.

        "Exists" means owned by us: foreign resources with a colliding name report None.
        A cloud error must be raised, not turned into None (a NotFound-as-error here
        would block finalizer removal forever, cloud-provider-openstack#1829).
        """

    @abc.abstractmethod
    def name(self, request: LoadBalancerRequest) -> str:
        """The deterministic name of the load balancer (no cloud call)."""

    @abc.abstractmethod
    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        """Create or update the load balancer so it matches the request; return its status.

        Full reconcile every time (the controller calls it for any relevant change, at
        start-up and on resync): compare with what the cloud reports and send only the
        differences; a steady call makes no mutating call.
        """

    @abc.abstractmethod
    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        """Bring the backend set in line with ``request.nodes`` (node sync).

        Only the hosts are expected to have changed; other drift may be left to ``ensure``.
        """

    @abc.abstractmethod
    def delete(self, request: LoadBalancerRequest) -> None:
        """Delete everything created for the Service; succeed when it is already gone.

        Idempotent, dependency-ordered, and never :class:`ImplementedElsewhere`.
        ``request.annotations`` may be partial here (deletion is never blocked by an
        annotation that no longer validates), so do not depend on them to find resources.
        """


class CloudProvider(abc.ABC):
    """A cloud: its name, its annotation namespace and its optional capabilities."""

    #: the ``--cloud-provider`` name
    name: ClassVar[str] = ""
    #: which provider's declarations in the annotation registry apply to its Services
    annotation_provider: ClassVar[str] = ""

    @abc.abstractmethod
    def load_balancer(self) -> LoadBalancer | None:
        """The load-balancer capability, or None when this cloud has none."""

    def instances(self) -> Instances | None:
        """The instances capability (``providers.instances``), or None: no node controllers then."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for stateless clouds
        """Release sockets, threads and listeners (the local provider has some)."""


@dataclasses.dataclass(frozen=True)
class ProviderContext:
    """What the controller hands a provider factory."""

    cluster_name: str = "kubernetes"
    #: provider-specific settings: ``--cloud-config`` entries and flags such as aws-endpoint-url;
    #: may hold static credentials, so it is kept out of the repr
    options: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)


ProviderFactory = Callable[[ProviderContext], CloudProvider]

# The registry names modules, not classes, so the controller never imports a cloud.
_PROVIDERS: dict[str, str] = {
    "fake": "providers.fake:create",
    "local": "providers.local:create",
    "aws": "providers.aws:create",
    "gcp": "providers.gcp:create",
    "azure": "providers.azure:create",
    "openstack": "providers.openstack:create",
}
_FACTORIES: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory | str) -> None:
    """Add a provider; ``factory`` may be ``"module:function"`` to import lazily."""
    if isinstance(factory, str):
        _PROVIDERS[name] = factory
        _FACTORIES.pop(name, None)
    else:
        _FACTORIES[name] = factory


def provider_names() -> list[str]:
    return sorted(set(_PROVIDERS) | set(_FACTORIES))


def create_provider(name: str, context: ProviderContext) -> CloudProvider:
    if name in _FACTORIES:
        return _FACTORIES[name](context)
    target = _PROVIDERS.get(name)
    if target is None:
        raise ValueError(f"unknown cloud provider {name!r}; known: {', '.join(provider_names())}")
    module, _, attr = target.partition(":")
    factory: ProviderFactory = getattr(importlib.import_module(module), attr)
    return factory(context)


# --------------------------------------------------------------------------------------------
# Metrics: every provider operation and every cloud API request, countable from /metrics
# --------------------------------------------------------------------------------------------

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


class ApiCallCounter:
    """Counts one adapter's cloud API requests; thread-safe, also readable in-process.

    ``mutating`` is decided by the adapter (AWS: Create/Delete/Modify/Register/...;
    REST clouds: any method but GET). Benchmarks and tests read :meth:`snapshot`.
    """

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, bool], int] = {}

    def record(self, service: str, operation: str, mutating: bool, ok: bool = True) -> None:
        kind = "mutating" if mutating else "read"
        CLOUD_API_REQUESTS.labels(self.provider, service, operation, kind, "success" if ok else "error").inc()
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
