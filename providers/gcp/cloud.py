"""The GCP cloud object: configuration, clients, and the capabilities built on them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from providers.adapter.options import check_known_options, positive_option
from providers.gcp.clients import OPERATION_TIMEOUT, Clients, make_clients
from providers.gcp.config import KEYS, GceConfig, build_config
from providers.gcp.instances import GcpInstances
from providers.gcp.inventory import GcpInventory
from providers.gcp.loadbalancer import GcpLoadBalancer
from providers.gcp.planning import GcpPlanner
from providers.gcp.support import SUPPORT
from providers.instances import Instances
from providers.metrics import ApiCallCounter
from providers.port import AnnotationSupport, CloudProvider, Inventory, LoadBalancer, Planner, ProviderContext

ANNOTATION_PROVIDER = "gcp"


#: the options this provider reads: gce.conf's keys (``parse_cloud_config``) and the ``--gcp-*`` flags
OPTIONS = frozenset({*KEYS, "gcp-project", "gcp-region", "gcp-endpoint-url", "gcp-operation-timeout"})


def config_from_options(opts: Mapping[str, str]) -> GceConfig:
    """The gce.conf keys (node-tags comma-joined) and the flags, merged; an unknown option is an error."""
    check_known_options(opts, OPTIONS, provider="gcp")
    values = {key: [opts[key]] for key in KEYS if key in opts}
    return build_config(values, project=opts.get("gcp-project"), region=opts.get("gcp-region"),
                        endpoint=opts.get("gcp-endpoint-url"))


class GcpCloud(CloudProvider):
    name: ClassVar[str] = "gcp"
    annotation_provider: ClassVar[str] = ANNOTATION_PROVIDER

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config = config_from_options(context.options)
        #: every Compute Engine request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("gce", extra_labels=("region", "zone", "version"))
        timeout = positive_option(context.options, "gcp-operation-timeout", OPERATION_TIMEOUT, provider="gcp")
        self.clients: Clients = make_clients(self.config.project, self.config.region, self.config.endpoint,
                                             self.counter, operation_timeout=timeout)
        self._lb = GcpLoadBalancer(self.clients, self.config, context.cluster_name)
        self._planner = GcpPlanner(self._lb)
        self._inventory = GcpInventory(self._lb)
        self._instances = GcpInstances(self.clients)

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
