"""The fake cloud's machines: a dict of instances with states, every call recorded, failures injectable.

Two policies for a node the fleet does not list (``unknown``):

* ``"running"`` (the default, and what ``--cloud-provider fake`` runs with): every node is backed by
  a running machine ``fake://<node name>`` of type ``fake``, zone ``fake-zone``, region
  ``fake-region``, and the cloud reports no addresses (kubelet's stay). Nothing is ever deleted.
* ``"absent"``: only machines added with :meth:`FakeInstances.add` exist (node-controller tests).

Tests change a machine's state with :meth:`FakeInstances.set_state` (``running``, ``stopped``,
``terminated``) or forget it with :meth:`FakeInstances.remove`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Literal

from providers.fake.failures import Failures
from providers.instances import InstanceMetadata, InstanceNotFound, Instances, Node, NodeAddress

OPERATIONS = ("exists", "shutdown", "metadata")
STATES = ("pending", "running", "stopping", "stopped", "terminated")
PROVIDER_ID_PREFIX = "fake://"
ErrorSpec = BaseException | Callable[[Node], BaseException | None]


@dataclasses.dataclass
class FakeInstance:
    name: str
    instance_type: str = "fake"
    zone: str = "fake-zone"
    region: str = "fake-region"
    addresses: tuple[NodeAddress, ...] = ()
    state: str = "running"
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def provider_id(self) -> str:
        return PROVIDER_ID_PREFIX + self.name

    def metadata(self) -> InstanceMetadata:
        return InstanceMetadata(self.provider_id, self.instance_type, self.addresses, self.zone, self.region,
                                dict(self.labels))


@dataclasses.dataclass(frozen=True)
class InstanceCall:
    operation: str
    node: Node


class FakeInstances(Instances):
    def __init__(self, unknown: Literal["running", "absent"] = "running") -> None:
        self.unknown = unknown
        self._lock = threading.Lock()
        self._machines: dict[str, FakeInstance] = {}
        self._calls: list[InstanceCall] = []
        self._failures: Failures[Node] = Failures()
        #: metadata answers None ("not known yet") for these node names
        self.unready: set[str] = set()

    # ---- test controls ------------------------------------------------------------------
    def add(self, name: str, *, addresses: tuple[tuple[str, str], ...] = (), **fields: object) -> FakeInstance:
        """A machine for the node called ``name``; ``addresses`` as ``(type, address)`` pairs."""
        machine = FakeInstance(name, addresses=tuple(NodeAddress(t, a) for t, a in addresses),
                               **fields)  # type: ignore[arg-type]
        with self._lock:
            self._machines[name] = machine
        return machine

    def set_state(self, name: str, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown instance state {state!r}; use one of {', '.join(STATES)}")
        with self._lock:
            self._machines[name].state = state

    def remove(self, name: str) -> None:
        with self._lock:
            self._machines.pop(name, None)

    def fail(self, operation: str, error: ErrorSpec, times: int | None = 1) -> None:
        """Raise ``error`` from the next ``times`` calls of ``operation`` (None: until cleared)."""
        self._failures.add(operation, error, times)

    def clear_failures(self) -> None:
        self._failures.clear()

    @property
    def calls(self) -> list[InstanceCall]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, operation: str, node: str | None = None) -> list[InstanceCall]:
        return [c for c in self.calls if c.operation == operation and (node is None or c.node.name == node)]

    # ---- plumbing -----------------------------------------------------------------------
    def _enter(self, operation: str, node: Node) -> None:
        with self._lock:
            self._calls.append(InstanceCall(operation, node))
        error = self._failures.take(operation, node)
        if error is not None:
            raise error

    def _find(self, node: Node) -> FakeInstance | None:
        """By provider id first (``fake://<name>``), by node name only when the node has none."""
        if node.provider_id:
            if not node.provider_id.startswith(PROVIDER_ID_PREFIX):
                raise ValueError(f"node {node.name}: provider id {node.provider_id!r} is not a fake:// id")
            name = node.provider_id[len(PROVIDER_ID_PREFIX):]
        else:
            name = node.name
        with self._lock:
            machine = self._machines.get(name)
        if machine is None and self.unknown == "running":
            return FakeInstance(name)
        return machine

    # ---- the interface ------------------------------------------------------------------
    def instance_exists(self, node: Node) -> bool:
        self._enter("exists", node)
        machine = self._find(node)
        return machine is not None and machine.state != "terminated"

    def instance_shutdown(self, node: Node) -> bool:
        self._enter("shutdown", node)
        machine = self._find(node)
        return machine is not None and machine.state == "stopped"

    def instance_metadata(self, node: Node) -> InstanceMetadata | None:
        self._enter("metadata", node)
        if node.name in self.unready:
            return None
        machine = self._find(node)
        if machine is None or machine.state == "terminated":
            raise InstanceNotFound(f"node {node.name}: no fake instance")
        return machine.metadata()
