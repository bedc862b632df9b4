"""The OpenStack cloud object: the connection and the capabilities built on it."""

from __future__ import annotations

from typing import Any, ClassVar

from providers.adapter.capabilities import AdapterCloud, Capabilities
from providers.metrics import ApiCallCounter
from providers.openstack.clients import connect
from providers.openstack.config import load_config
from providers.openstack.instances import OpenStackInstances
from providers.openstack.inventory import OpenStackInventory
from providers.openstack.loadbalancer import OpenStackLoadBalancer
from providers.openstack.planning import OpenStackPlanner
from providers.openstack.support import SUPPORT
from providers.port import AnnotationSupport, ProviderContext

ANNOTATION_PROVIDER = "openstack"


class OpenStackCloud(AdapterCloud):
    name: ClassVar[str] = "openstack"
    annotation_provider: ClassVar[str] = ANNOTATION_PROVIDER
    support: ClassVar[AnnotationSupport] = SUPPORT

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config = load_config(context.options, offline=context.offline)
        #: every OpenStack request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("openstack")
        #: None in an offline build: no connection, no Keystone, no call
        self.conn: Any = None
        if context.offline:
            self.capabilities = Capabilities(planner=OpenStackPlanner(None, self.config))
            return
        self.conn = connect(self.config, self.counter)
        lb = OpenStackLoadBalancer(self.conn, self.config)
        self.capabilities = Capabilities(load_balancer=lb, planner=OpenStackPlanner(lb, self.config),
                                         inventory=OpenStackInventory(lb, context.cluster_name),
                                         instances=OpenStackInstances(self.conn, self.config.auth.region))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
