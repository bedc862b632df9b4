"""The capability getters every adapter's cloud object shares.

A cloud builds its capabilities once, in its constructor (clients first, then the load balancer,
the planner, the inventory and the instances on them) and hands them to :class:`AdapterCloud`;
the port's getters then return them. A capability the cloud does not have, or cannot have in
this build (a cloud built with ``ProviderContext.offline`` has only a planner), stays None,
which the port reads as "not offered".
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from providers.instances import Instances
from providers.port import AnnotationSupport, CloudProvider, Inventory, LoadBalancer, Planner


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a cloud offers; None where it offers nothing."""

    load_balancer: LoadBalancer | None = None
    planner: Planner | None = None
    inventory: Inventory | None = None
    instances: Instances | None = None


class AdapterCloud(CloudProvider):
    """A :class:`CloudProvider` whose capabilities are built by the subclass and stored here.

    Subclasses set the class attributes ``name``, ``annotation_provider`` and ``support`` (their
    ``support.SUPPORT``) and assign :attr:`capabilities` in their constructor.
    """

    #: which annotations the load balancers honour (the adapter's ``support.SUPPORT``)
    support: ClassVar[AnnotationSupport]
    capabilities: Capabilities = Capabilities()

    def load_balancer(self) -> LoadBalancer | None:
        return self.capabilities.load_balancer

    def instances(self) -> Instances | None:
        return self.capabilities.instances

    def planner(self) -> Planner | None:
        return self.capabilities.planner

    def inventory(self) -> Inventory | None:
        return self.capabilities.inventory

    def annotation_support(self) -> AnnotationSupport:
        return self.support
