"""The OpenStack cloud object: the connection and the capabilities built on it."""

from __future__ import annotations

from typing import ClassVar

from providers.instances import Instances
from providers.metrics import ApiCallCounter
from providers.openstack.clients import connect
from providers.openstack.config import load_config
from providers.openstack.instances import OpenStackInstances
from providers.openstack.inventory import OpenStackInventory
from providers.openstack.loadbalancer import OpenStackLoadBalancer
from providers.openstack.planning import OpenStackPlanner
from providers.openstack.support import SUPPORT
from providers.port import AnnotationSupport, CloudProvider, Inventory, LoadBalancer, Planner, ProviderContext

ANNOTATION_PROVIDER = "openstack"


class OpenStackCloud(CloudProvider):
    name: ClassVar[str] = "openstack"
    annotation_provider: ClassVar[str] = ANNOTATION_PROVIDER

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config = load_config(context.options)
        #: every OpenStack request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("openstack")
        self.conn = connect(self.config, self.counter)
        self._lb = OpenStackLoadBalancer(self.conn, self.config)
        self._planner = OpenStackPlanner(self._lb, self.config)
        self._inventory = OpenStackInventory(self._lb, context.cluster_name)
        self._instances = OpenStackInstances(self.conn, self.config.auth.region)

    def load_balancer(self) -> LoadBalancer | None:
        return self._lb

    def instances(self) -> Instances | None:
        return self._instances

    def planner(self) -> Planner | None:
        return self._planner

    def inventory(self) -> Inventory | None:
        return self._inventory

    def annotation_support(self) -> AnnotationSupport:
        return SUPPORT

    def close(self) -> None:
        self.conn.close()
