"""The AWS cloud object: clients, and the capabilities built on them."""

from __future__ import annotations

from typing import ClassVar

from providers.aws.clients import Clients, make_clients
from providers.aws.instances import AwsInstances
from providers.aws.inventory import AwsInventory
from providers.aws.loadbalancer import AwsLoadBalancer
from providers.aws.planning import AwsPlanner
from providers.aws.support import SUPPORT
from providers.instances import Instances
from providers.metrics import ApiCallCounter
from providers.port import AnnotationSupport, CloudProvider, Inventory, LoadBalancer, Planner, ProviderContext

ANNOTATION_PROVIDER = "aws"


class AwsCloud(CloudProvider):
    name: ClassVar[str] = "aws"
    annotation_provider: ClassVar[str] = ANNOTATION_PROVIDER

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        #: every AWS request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("aws")
        self.clients: Clients = make_clients(context.options, self.counter, offline=context.offline)
        self._lb = AwsLoadBalancer(self.clients, context.options)
        self._planner = AwsPlanner(self._lb)
        self._inventory = AwsInventory(self._lb, context.cluster_name)
        families = (context.options.get("aws-node-ip-families") or "ipv4").split(",")
        self._instances = AwsInstances(self.clients, [f.strip().lower() for f in families if f.strip()])

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
        for client in (self.clients.elb, self.clients.elbv2, self.clients.ec2):
            client.close()
