"""The provider port: the interface every cloud implements, the neutral model, and the errors.

Modelled on k8s.io/cloud-provider ``cloud.go``: a cloud hands out optional capabilities, each
``None`` when it has none. :class:`LoadBalancer` (get, name, ensure, update, delete) is the one
the service controller needs; :class:`Planner` (what the next reconcile would do, for
``ccm plan``) and :class:`Inventory` (everything this cluster owns, for orphan collection and
leak checks) are optional. The controller builds one immutable :class:`LoadBalancerRequest`
per call from the Service, the eligible Nodes and the already-validated annotations; adapters
translate it into cloud resources and never see a Kubernetes object, never talk to the API
server, and never mutate their input. The controller sees providers only through this module,
``providers.registry`` and ``providers.metrics``.

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
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ccm.annotations.support import NOTHING, AnnotationSupport, Honoured, Unsupported

__all__ = [
    "AnnotationSupport",
    "CloudProvider",
    "EnsureResult",
    "HealthCheck",
    "Honoured",
    "ImplementedElsewhere",
    "Ingress",
    "Inventory",
    "LoadBalancer",
    "LoadBalancerRequest",
    "LoadBalancerStatus",
    "Node",
    "NodeAddress",
    "Operation",
    "OwnedResource",
    "Plan",
    "Planner",
    "PortStatus",
    "ProviderContext",
    "ProviderError",
    "ProviderWarning",
    "Resource",
    "RetryError",
    "ServicePort",
    "Unsupported",
    "UserError",
]

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
    use :meth:`annotation` to read one with its declared default). The controller
    has already refused any of them the adapter's :class:`AnnotationSupport` does
    not honour, so an adapter may rely on that declaration.
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
# Cloud resources, planned operations and ownership (the optional capabilities' vocabulary)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Resource:
    """A cloud resource by its type (``elb/load-balancer``, ``ec2/security-group``, ...) and name or id.

    A resource an earlier operation of the same plan creates is named by a placeholder such as
    ``<sg>`` until it exists.
    """

    type: str
    name: str

    def __str__(self) -> str:
        return f"{self.type} {self.name}"

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name}


@runtime_checkable
class Operation(Protocol):
    """One planned mutating cloud call, as ``ccm plan`` prints it (``providers.adapter.operations``
    holds the frozen base every adapter's operations derive from)."""

    @property
    def kind(self) -> str:
        """``create``, ``update`` or ``delete`` (of :attr:`resource`)."""

    @property
    def resource(self) -> Resource:
        """The resource the call changes."""

    def describe(self) -> str:
        """One line for humans: what changes and why."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (``json.dumps`` works on it), stable across runs."""


#: an ordered plan: the operations apply sends, one cloud call each, in this order
Plan = tuple[Operation, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class OwnedResource:
    """A resource carrying this cluster's ownership marks, and the Service they name.

    ``service`` is ``namespace/name``, or ``""`` when only the cluster can be told (a rule that
    names a load balancer of which nothing else is left).
    """

    resource: Resource
    service: str

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource.to_json(), "service": self.service}


# --------------------------------------------------------------------------------------------
# The capabilities
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

        Idempotent, dependency-ordered, and never :class:`ImplementedElsewhere`. Called even
        when :meth:`get` reports None (a create that failed half-way leaves parts without a
        load balancer), so it must find every part by name and ownership, not through the
        load balancer. ``request.annotations`` may be partial here (deletion is never
        blocked by an annotation that no longer validates), so do not depend on them to find
        resources.
        """


class Planner(abc.ABC):
    """Optional: what a reconcile would send, without sending it (for ``ccm plan``)."""

    @abc.abstractmethod
    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        """The operations that create everything for ``request`` in an empty cloud.

        Pure: no credentials, no cloud call. Values only the cloud knows (discovered subnets,
        a new group's id) appear as placeholders such as ``<sg>``.
        """

    @abc.abstractmethod
    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        """The operations the next ``ensure`` would send: read-only calls, then the pure plan."""


class Inventory(abc.ABC):
    """Optional: every resource this cluster owns, found by ownership marks alone.

    For the orphan sweep (resources of Services deleted while the controller was down) and
    for leak checks in tests. Never lists or deletes anything without this cluster's marks.
    """

    @abc.abstractmethod
    def list_owned(self) -> tuple[OwnedResource, ...]:
        """Every resource owned by this cluster (read-only calls only)."""

    def by_service(self) -> Mapping[str, tuple[OwnedResource, ...]]:
        """:meth:`list_owned` grouped by Service key (``""``: owned, Service unknown)."""
        out: dict[str, list[OwnedResource]] = {}
        for r in self.list_owned():
            out.setdefault(r.service, []).append(r)
        return {k: tuple(v) for k, v in sorted(out.items())}

    @abc.abstractmethod
    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        """Delete every resource owned for the Service key ``service``, dependency-ordered.

        For a Service that no longer exists (the caller checks); returns what was deleted.
        Idempotent: a second call deletes nothing.
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

    def planner(self) -> Planner | None:
        """The planning capability, or None."""
        return None

    def inventory(self) -> Inventory | None:
        """The inventory capability, or None."""
        return None

    def annotation_support(self) -> AnnotationSupport:
        """Which of ``annotation_provider``'s annotations the load balancers honour.

        The default honours none: a declared annotation present on a Service is refused
        with a Warning event until the adapter declares it.
        """
        return NOTHING

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for stateless clouds
        """Release sockets, threads and listeners (the local provider has some)."""


@dataclasses.dataclass(frozen=True)
class ProviderContext:
    """What the controller hands a provider factory."""

    cluster_name: str = "kubernetes"
    #: provider-specific settings: ``--cloud-config`` entries and flags such as aws-endpoint-url;
    #: may hold static credentials, so it is kept out of the repr
    options: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    #: built only for ``planner().plan_offline`` (``ccm plan`` without ``--live``): the factory must
    #: not need credentials, an endpoint, a region or a project, must make no call and start nothing;
    #: what only the cloud knows becomes a placeholder in the plan
    offline: bool = False
