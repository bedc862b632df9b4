"""The fake cloud: load balancers as dict entries, every call recorded, failures and latency injectable.

What tests get from it:

* ``calls`` - every operation in order, with the request it received (``Call``);
* ``fail(op, error, times=1)`` - raise ``error`` (an exception, or a callable returning one or
  None) on the next ``times`` calls of ``op`` (``times=None``: until ``clear_failures``);
* ``warn(op, warning)`` - return a :class:`ProviderWarning` from ensure/update;
* ``hold(op)`` - a :class:`Gate` that blocks matching calls until released (slow-cloud tests);
* ``counter`` - an :class:`ApiCallCounter`: ensure/update/delete count as *mutating* only when
  they change the stored state, so "a steady resync makes no mutating call" is measurable.

It implements the optional capabilities too: :class:`FakePlanner` (the same pure
:func:`plan_ensure` that ``ensure`` follows) and :class:`FakeInventory` (the stored load
balancers by Service key), and honours every annotation (``EVERYTHING``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from ccm.annotations.support import EVERYTHING
from providers.adapter.capabilities import AdapterCloud, Capabilities
from providers.adapter.naming import default_load_balancer_name
from providers.adapter.operations import Kind, Operation
from providers.fake.addresses import AddressPool
from providers.fake.failures import Failures
from providers.fake.instances import FakeInstances
from providers.metrics import ApiCallCounter
from providers.port import (
    EnsureResult,
    Ingress,
    Inventory,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    OwnedResource,
    Plan,
    Planner,
    PortStatus,
    ProviderWarning,
    Resource,
    ServicePort,
)

OPERATIONS = ("get", "ensure", "update", "delete")
RESOURCE_TYPE = "fake/load-balancer"
ErrorSpec = BaseException | Callable[[LoadBalancerRequest], BaseException | None]


@dataclasses.dataclass(frozen=True)
class Call:
    operation: str
    request: LoadBalancerRequest

    @property
    def key(self) -> str:
        return self.request.key

    @property
    def node_names(self) -> frozenset[str]:
        return frozenset(n.name for n in self.request.nodes)


class Gate:
    """Holds calls of one operation (optionally one Service) until :meth:`release`."""

    def __init__(self, operation: str, key: str | None, timeout: float) -> None:
        self.operation = operation
        self.key = key
        self.timeout = timeout
        self.entered = threading.Event()  # set once a call is waiting at the gate
        self._open = threading.Event()

    def matches(self, operation: str, request: LoadBalancerRequest) -> bool:
        return operation == self.operation and (self.key is None or self.key == request.key)

    def wait(self) -> None:
        self.entered.set()
        # bounded so a forgotten release never hangs a test run forever
        self._open.wait(self.timeout)

    def release(self) -> None:
        self._open.set()


@dataclasses.dataclass
class _Stored:
    spec: LoadBalancerRequest  # the request without volatile fields, nodes sorted
    status: LoadBalancerStatus


def _spec_of(request: LoadBalancerRequest) -> LoadBalancerRequest:
    """What the fake compares to decide whether a call changes anything (status ips excluded)."""
    return dataclasses.replace(
        request, current_ips=(), nodes=tuple(sorted(request.nodes, key=lambda n: n.name))
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class FakeOperation(Operation):
    """Store (create or update) or remove one fake load balancer; ``fields`` say what differs."""

    fields: tuple[str, ...] = ()

    def detail(self) -> str:
        return ("changed: " + ", ".join(self.fields)) if self.fields else ""


def plan_ensure(stored: LoadBalancerRequest | None, request: LoadBalancerRequest) -> tuple[FakeOperation, ...]:
    """What ``ensure`` does: store the spec when there is none or it differs (pure)."""
    spec = _spec_of(request)
    resource = Resource(RESOURCE_TYPE, default_load_balancer_name(request.uid))
    if stored is None:
        return (FakeOperation(kind=Kind.CREATE, resource=resource),)
    changed = tuple(f.name for f in dataclasses.fields(spec) if getattr(spec, f.name) != getattr(stored, f.name))
    return (FakeOperation(kind=Kind.UPDATE, resource=resource, fields=changed),) if changed else ()


class FakeLoadBalancer(LoadBalancer):
    def __init__(
        self,
        provider: str = "fake",
        ip_mode: str | None = None,
        port_error: Callable[[ServicePort], str | None] | None = None,
        latency: float = 0.0,
    ) -> None:
        #: None leaves ipMode unset (like many clouds), so the controller's normalisation is exercised
        self.ip_mode = ip_mode
        self.port_error = port_error
        self.latency = latency
        self.counter = ApiCallCounter(provider)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._lbs: dict[str, _Stored] = {}
        self._failures: Failures[LoadBalancerRequest] = Failures()
        self._warnings: dict[str, list[ProviderWarning]] = {}
        self._gates: list[Gate] = []
        self._addresses = AddressPool()

    # ---- test controls ------------------------------------------------------------------
    def fail(self, operation: str, error: ErrorSpec, times: int | None = 1) -> None:
        self._failures.add(operation, error, times)

    def clear_failures(self, operation: str | None = None) -> None:
        self._failures.clear(operation)

    def warn(self, operation: str, warning: ProviderWarning) -> None:
        """Return ``warning`` from every successful ``operation`` (ensure/update) until cleared."""
        with self._lock:
            self._warnings.setdefault(operation, []).append(warning)

    def clear_warnings(self) -> None:
        with self._lock:
            self._warnings.clear()

    def hold(self, operation: str, key: str | None = None, timeout: float = 30.0) -> Gate:
        gate = Gate(operation, key, timeout)
        with self._lock:
            self._gates.append(gate)
        return gate

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, operation: str, key: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.operation == operation and (key is None or c.key == key)]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def specs(self) -> list[LoadBalancerRequest]:
        """Every stored load balancer's request, by uid."""
        with self._lock:
            return [s.spec for _, s in sorted(self._lbs.items())]

    def exists(self, uid: str) -> bool:
        with self._lock:
            return uid in self._lbs

    def stored(self, uid: str) -> LoadBalancerRequest | None:
        with self._lock:
            s = self._lbs.get(uid)
            return s.spec if s else None

    def remove_out_of_band(self, uid: str) -> None:
        """Simulate someone deleting the load balancer in the cloud console."""
        with self._lock:
            self._lbs.pop(uid, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lbs)

    # ---- plumbing -----------------------------------------------------------------------
    def _enter(self, operation: str, request: LoadBalancerRequest) -> None:
        """Record the call, wait at any gate, then raise an injected failure if one is due."""
        with self._lock:
            self._calls.append(Call(operation, request))
            gates = [g for g in self._gates if g.matches(operation, request)]
            for g in gates:
                self._gates.remove(g)
        for g in gates:
            g.wait()
        if self.latency:
            time.sleep(self.latency)  # simulated cloud latency (benchmarks), not synchronisation
        error = self._failures.take(operation, request)
        if error is not None:
            self.counter.record("loadbalancers", operation, mutating=False, ok=False)
            raise error

    def _warnings_for(self, operation: str) -> tuple[ProviderWarning, ...]:
        with self._lock:
            return tuple(self._warnings.get(operation, ()))

    def _status(self, request: LoadBalancerRequest) -> LoadBalancerStatus:
        ports = tuple(
            PortStatus(p.port, p.protocol, self.port_error(p) if self.port_error else None)
            for p in request.ports
        )
        ip = self._addresses.allocate(request.uid)
        return LoadBalancerStatus((Ingress(ip=ip, ip_mode=self.ip_mode, ports=ports),))

    # ---- the interface ------------------------------------------------------------------
    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        self._enter("get", request)
        self.counter.record("loadbalancers", "describe", mutating=False)
        with self._lock:
            s = self._lbs.get(request.uid)
            return s.status if s else None

    def name(self, request: LoadBalancerRequest) -> str:
        return default_load_balancer_name(request.uid)

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        self._enter("ensure", request)
        spec = _spec_of(request)
        self.counter.record("loadbalancers", "describe", mutating=False)
        with self._lock:
            current = self._lbs.get(request.uid)
        if not plan_ensure(current.spec if current else None, request):
            assert current is not None
            return EnsureResult(current.status, self._warnings_for("ensure"))
        status = self._status(request)
        with self._lock:
            self._lbs[request.uid] = _Stored(spec, status)
        self.counter.record("loadbalancers", "modify" if current else "create", mutating=True)
        return EnsureResult(status, self._warnings_for("ensure"))

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        self._enter("update", request)
        self.counter.record("loadbalancers", "describe", mutating=False)
        nodes = _spec_of(request).nodes
        with self._lock:
            current = self._lbs.get(request.uid)
            changed = current is not None and current.spec.nodes != nodes
            if current is not None and changed:
                current.spec = dataclasses.replace(current.spec, nodes=nodes)
        if changed:  # nothing to do when the load balancer is gone or the hosts are the same
            self.counter.record("loadbalancers", "register-targets", mutating=True)
        return self._warnings_for("update")

    def delete(self, request: LoadBalancerRequest) -> None:
        self._enter("delete", request)
        self.counter.record("loadbalancers", "describe", mutating=False)
        with self._lock:
            existed = self._lbs.pop(request.uid, None) is not None
        if existed:
            self._addresses.release(request.uid)
            self.counter.record("loadbalancers", "delete", mutating=True)


class FakePlanner(Planner):
    def __init__(self, lb: FakeLoadBalancer) -> None:
        self.lb = lb

    def plan_offline(self, request: LoadBalancerRequest) -> Plan:
        return plan_ensure(None, request)

    def plan_live(self, request: LoadBalancerRequest) -> Plan:
        stored = self.lb.stored(request.uid)
        self.lb.counter.record("loadbalancers", "describe", mutating=False)
        return plan_ensure(stored, request)


class FakeInventory(Inventory):
    def __init__(self, lb: FakeLoadBalancer) -> None:
        self.lb = lb

    def list_owned(self) -> tuple[OwnedResource, ...]:
        return tuple(OwnedResource(Resource(RESOURCE_TYPE, default_load_balancer_name(spec.uid)), spec.key)
                     for spec in self.lb.specs())

    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        gone = [spec for spec in self.lb.specs() if spec.key == service]
        for spec in gone:
            self.lb.delete(spec)
        return tuple(OwnedResource(Resource(RESOURCE_TYPE, default_load_balancer_name(s.uid)), s.key) for s in gone)


class FakeCloud(AdapterCloud):
    name = "fake"
    annotation_provider = "fake"
    support = EVERYTHING

    def __init__(
        self,
        cluster_name: str = "kubernetes",
        annotation_provider: str = "fake",
        has_load_balancer: bool = True,
        instances: FakeInstances | None = None,
        **lb_options: Any,
    ) -> None:
        self.cluster_name = cluster_name
        # instance-level override of the ClassVar: tests run the fake with "aws" validation
        setattr(self, "annotation_provider", annotation_provider)  # noqa: B010
        self.lb = FakeLoadBalancer(**lb_options)
        #: the machines behind Nodes (every node a running machine unless a test says otherwise)
        self.vms = instances or FakeInstances()
        self.capabilities = Capabilities(load_balancer=self.lb if has_load_balancer else None,
                                         planner=FakePlanner(self.lb), inventory=FakeInventory(self.lb),
                                         instances=self.vms)
        self.closed = False

    def close(self) -> None:
        self.closed = True
