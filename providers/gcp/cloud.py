"""The GCP cloud object: configuration, clients, and the capabilities built on them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from providers.adapter.capabilities import AdapterCloud, Capabilities
from providers.adapter.options import check_known_options, positive_option
from providers.gcp.clients import OPERATION_TIMEOUT, Clients, make_clients
from providers.gcp.config import KEYS, GceConfig, build_config
from providers.gcp.instances import GcpInstances
from providers.gcp.inventory import GcpInventory
from providers.gcp.loadbalancer import GcpLoadBalancer
from providers.gcp.planning import GcpPlanner
from providers.gcp.support import SUPPORT
from providers.metrics import ApiCallCounter
from providers.port import AnnotationSupport, ProviderContext

ANNOTATION_PROVIDER = "gcp"


#: the options this provider reads: gce.conf's keys (``parse_cloud_config``) and the ``--gcp-*`` flags
OPTIONS = frozenset({*KEYS, "gcp-project", "gcp-region", "gcp-endpoint-url", "gcp-operation-timeout"})


def config_from_options(opts: Mapping[str, str], *, offline: bool = False) -> GceConfig:
    """The gce.conf keys (node-tags comma-joined) and the flags, merged; an unknown option is an error.

    ``offline``: a missing project or region is a placeholder (``ccm plan`` without ``--live``).
    """
    check_known_options(opts, OPTIONS, provider="gcp")
    values = {key: [opts[key]] for key in KEYS if key in opts}
    return build_config(values, project=opts.get("gcp-project"), region=opts.get("gcp-region"),
                        endpoint=opts.get("gcp-endpoint-url"), offline=offline)


class GcpCloud(AdapterCloud):
    name: ClassVar[str] = "gcp"
    annotation_provider: ClassVar[str] = ANNOTATION_PROVIDER
    support: ClassVar[AnnotationSupport] = SUPPORT

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config = config_from_options(context.options, offline=context.offline)
        #: every Compute Engine request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("gce", extra_labels=("region", "zone", "version"))
        timeout = positive_option(context.options, "gcp-operation-timeout", OPERATION_TIMEOUT, provider="gcp")
        #: None in an offline build: no client, no credentials, no call
        self.clients: Clients | None = None
        if context.offline:
            self.capabilities = Capabilities(planner=GcpPlanner(self.config, context.cluster_name, None))
            return
        self.clients = make_clients(self.config.project, self.config.region, self.config.endpoint,
                                    self.counter, operation_timeout=timeout)
        lb = GcpLoadBalancer(self.clients, self.config, context.cluster_name)
        self.capabilities = Capabilities(load_balancer=lb, planner=GcpPlanner(self.config, context.cluster_name, lb),
                                         inventory=GcpInventory(lb), instances=GcpInstances(self.clients))

    def close(self) -> None:
        if self.clients is not None:
            self.clients.close()
