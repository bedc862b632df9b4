"""The Azure cloud object: configuration, the SDK client, and the capabilities built on them."""

from __future__ import annotations

from typing import ClassVar

from providers.azure.clients import METRIC_LABELS, Clients, make_clients
from providers.azure.config import AzureConfig, parse_config
from providers.azure.instances import AzureInstances
from providers.azure.inventory import AzureInventory
from providers.azure.loadbalancer import AzureLoadBalancer
from providers.azure.planning import AzurePlanner
from providers.azure.support import SUPPORT
from providers.instances import Instances
from providers.metrics import ApiCallCounter
from providers.port import AnnotationSupport, CloudProvider, Inventory, LoadBalancer, Planner, ProviderContext


class AzureCloud(CloudProvider):
    name: ClassVar[str] = "azure"
    annotation_provider: ClassVar[str] = "azure"

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config: AzureConfig = parse_config(context.options)
        #: every ARM request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("azure", extra_labels=METRIC_LABELS)
        self.clients: Clients = make_clients(self.config, self.counter)
        self._lb = AzureLoadBalancer(self.clients, self.config)
        self._planner = AzurePlanner(self._lb)
        self._inventory = AzureInventory(self._lb, context.cluster_name)
        self._instances = AzureInstances(self.clients, self.config)

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
        self.clients.close()
