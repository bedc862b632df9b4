"""The per-type interface: Classic ELB and NLB are two implementations of :class:`LoadBalancerKind`.

Each kind holds the same four steps, and nothing outside ``loadbalancer._select`` chooses
between them:

* ``find`` and ``observe`` - describe calls only (observe);
* ``desired`` - pure, from the request, the Service's settings and the EC2 world;
* ``plan`` / ``plan_delete`` - pure diffs into :class:`~providers.aws.operations.AwsCall` tuples,
  plus the :class:`~providers.aws.rules.NodeRules` the load balancer wants in the shared node
  groups (planned later under the rules lock);
* sending is ``providers.aws.apply``'s job, never a kind's.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from providers.adapter.ownership import Owner
from providers.aws.clients import Clients
from providers.aws.names import is_owned
from providers.aws.operations import AwsCall
from providers.aws.rules import Groups, NodeRules
from providers.aws.settings import Settings
from providers.aws.world import World
from providers.port import LoadBalancerRequest, PortStatus

D = TypeVar("D")
Obs = TypeVar("Obs")


@dataclasses.dataclass(frozen=True)
class Existing:
    """A load balancer with our name: its description and tags as AWS returned them."""

    kind: str  # "clb" | "nlb"
    name: str
    description: Mapping[str, Any]
    tags: Mapping[str, str]

    @property
    def internal(self) -> bool:
        return self.description.get("Scheme") == "internal"

    @property
    def scheme(self) -> str:
        return str(self.description.get("Scheme") or "internet-facing")

    @property
    def dns_name(self) -> str | None:
        return self.description.get("DNSName") or None


@dataclasses.dataclass(frozen=True)
class Reads:
    """How much ``observe`` reads: attributes and policies (``details``), registered ``targets``."""

    details: bool
    targets: bool


#: ensure: everything; node sync: targets, not attributes; delete: only what finds resources
FULL = Reads(details=True, targets=True)
NODE_SYNC = Reads(details=False, targets=True)
DELETE = Reads(details=False, targets=False)


@dataclasses.dataclass(frozen=True)
class TypePlan:
    """What one kind's ``plan`` returns."""

    operations: tuple[AwsCall, ...]
    #: create-only differences left as they are (CreateOnlyAnnotationChanged warnings)
    notes: tuple[str, ...]
    port_status: tuple[PortStatus, ...]
    #: the node-group rules, planned after ``operations`` ran (they may name a group made by them)
    node_rules: NodeRules


class LoadBalancerKind(abc.ABC, Generic[D, Obs]):
    """One load-balancer type: its reads, its desired state and its pure plans."""

    #: "clb" | "nlb" (the Settings.lb_type values)
    kind: ClassVar[str]
    #: for messages: "Classic ELB", "NLB"
    label: ClassVar[str]

    @abc.abstractmethod
    def describe(self, clients: Clients, name: str) -> tuple[Mapping[str, Any], dict[str, str]] | None:
        """The load balancer of this type with this name and its tags, whoever owns it (read)."""

    def owned(self, description: Mapping[str, Any], tags: Mapping[str, str], owner: Owner) -> bool:
        """Ours: tagged for this cluster and Service (and, for ELBv2, of this type)."""
        return is_owned(tags, owner)

    @abc.abstractmethod
    def desired(self, request: LoadBalancerRequest, settings: Settings, world: World, name: str) -> D:
        """The whole desired state (pure); raises UserError for what AWS cannot build."""

    @abc.abstractmethod
    def observe(self, clients: Clients, owner: Owner, name: str, *, existing: Existing | None,
                groups: Groups, reads: Reads) -> Obs:
        """What exists of this type for the Service (describe calls only)."""

    @abc.abstractmethod
    def nothing(self, owner: Owner, name: str) -> Obs:
        """The observation of an empty cloud (offline planning)."""

    @abc.abstractmethod
    def plan(self, desired: D, observed: Obs) -> TypePlan:
        """The calls that turn ``observed`` into ``desired`` (pure)."""

    @abc.abstractmethod
    def plan_delete(self, name: str, observed: Obs) -> tuple[AwsCall, ...]:
        """The calls that delete what ``observed`` found, dependency-ordered (node rules excluded)."""

    @abc.abstractmethod
    def node_rules_delete(self, name: str, observed: Obs) -> NodeRules:
        """The node-group rules to revoke on deletion (they go before the groups they name)."""

    def referenced_groups(self, observed: Obs) -> tuple[str, ...]:
        """Our groups other groups' rules may name (AWS refuses to delete a referenced group)."""
        return ()

    @abc.abstractmethod
    def port_status(self, request: LoadBalancerRequest) -> tuple[PortStatus, ...]:
        """Port status for ``get``, from the ports alone (never fails on annotations)."""
