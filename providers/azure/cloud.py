"""The Azure cloud object: configuration, the SDK client, and the capabilities built on them."""

from __future__ import annotations

from typing import ClassVar

from providers.adapter.capabilities import AdapterCloud, Capabilities
from providers.azure.clients import METRIC_LABELS, Clients, make_clients
from providers.azure.config import AzureConfig, parse_config
from providers.azure.instances import AzureInstances
from providers.azure.inventory import AzureInventory
from providers.azure.loadbalancer import AzureLoadBalancer
from providers.azure.planning import AzurePlanner
from providers.azure.support import SUPPORT
from providers.metrics import ApiCallCounter
from providers.port import AnnotationSupport, ProviderContext


class AzureCloud(AdapterCloud):
    name: ClassVar[str] = "azure"
    annotation_provider: ClassVar[str] = "azure"
    support: ClassVar[AnnotationSupport] = SUPPORT

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config: AzureConfig = parse_config(context.options, offline=context.offline)
        #: every ARM request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("azure", extra_labels=METRIC_LABELS)
        #: None in an offline build: no client, no credential, no call
        self.clients: Clients | None = None
        if context.offline:
            self.capabilities = Capabilities(planner=AzurePlanner(self.config, None))
            return
        self.clients = make_clients(self.config, self.counter)
        lb = AzureLoadBalancer(self.clients, self.config)
        self.capabilities = Capabilities(load_balancer=lb, planner=AzurePlanner(self.config, lb),
                                         inventory=AzureInventory(lb, context.cluster_name),
                                         instances=AzureInstances(self.clients, self.config))

    def close(self) -> None:
        if self.clients is not None:
            self.clients.close()
