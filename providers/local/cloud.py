"""The local cloud object: owns the forwarding engine and the load-balancer capability."""

from __future__ import annotations

from typing import ClassVar

from ccm.proxy.engine import ThreadedEngine
from providers.adapter.capabilities import AdapterCloud, Capabilities
from providers.local.instances import LocalInstances
from providers.local.inventory import LocalInventory
from providers.local.loadbalancer import LocalLoadBalancer
from providers.local.options import LocalOptions, parse_options
from providers.local.planning import LocalPlanner
from providers.local.support import SUPPORT
from providers.port import AnnotationSupport, ProviderContext


class LocalCloud(AdapterCloud):
    name: ClassVar[str] = "local"
    annotation_provider: ClassVar[str] = "local"
    support: ClassVar[AnnotationSupport] = SUPPORT

    def __init__(self, cluster_name: str, options: LocalOptions, *, offline: bool = False) -> None:
        """``offline``: only for planning from scratch; no engine, listener, probe or VIP file."""
        self.options = options
        self.engine = ThreadedEngine()
        self._lb: LocalLoadBalancer | None = None
        if offline:
            self.capabilities = Capabilities(planner=LocalPlanner(options, None))
            return
        self.engine.start()
        try:
            self._lb = LocalLoadBalancer(cluster_name, options, self.engine)
        except BaseException:
            self.engine.stop()
            raise
        self.capabilities = Capabilities(load_balancer=self._lb, planner=LocalPlanner(options, self._lb),
                                         inventory=LocalInventory(self._lb),
                                         instances=LocalInstances(options.instances_file))

    @property
    def lb(self) -> LocalLoadBalancer:
        if self._lb is None:
            raise RuntimeError("this local cloud was built for offline planning only")
        return self._lb

    def close(self) -> None:
        """Stop probing and close every listener; VIP allocations stay for the next start."""
        if self._lb is not None:
            self._lb.close()
            self.engine.stop()


def create(context: ProviderContext) -> LocalCloud:
    return LocalCloud(context.cluster_name, parse_options(context.cluster_name, context.options),
                      offline=context.offline)
