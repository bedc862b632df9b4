"""The AWS cloud object: clients, and the capabilities built on them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from providers.adapter.capabilities import AdapterCloud, Capabilities
from providers.adapter.options import check_known_options
from providers.aws.clients import Clients, make_clients
from providers.aws.instances import AwsInstances
from providers.aws.inventory import AwsInventory
from providers.aws.loadbalancer import AwsLoadBalancer
from providers.aws.planning import AwsPlanner
from providers.aws.support import SUPPORT
from providers.metrics import ApiCallCounter
from providers.port import AnnotationSupport, ProviderContext

ANNOTATION_PROVIDER = "aws"
#: every option this provider reads (anything else is a start-up error naming it)
OPTIONS = frozenset({
    "aws-endpoint-url", "aws-region", "aws-zone", "aws-vpc-id", "aws-max-attempts", "aws-connect-timeout",
    "aws-read-timeout", "aws-access-key-id", "aws-secret-access-key", "aws-session-token", "aws-node-ip-families",
    "aws-cluster-id",
})


def resolve_options(context: ProviderContext) -> Mapping[str, str]:
    """Check the options; cloud.conf's Zone gives the region when nothing else does, its cluster id must match."""
    options = dict(context.options)
    check_known_options(options, OPTIONS, provider="aws")
    cluster_id = options.get("aws-cluster-id")
    if cluster_id and cluster_id != context.cluster_name:
        raise ValueError(f"aws: cloud config KubernetesClusterID/KubernetesClusterTag {cluster_id!r} differs from "
                         f"--cluster-name {context.cluster_name!r}; ccm tags what it owns with the cluster name, "
                         "so set --cluster-name to the same value")
    zone = options.get("aws-zone")
    if zone and not options.get("aws-region") and not (os.environ.get("AWS_REGION")
                                                       or os.environ.get("AWS_DEFAULT_REGION")):
        options["aws-region"] = zone.rstrip("abcdefghijklmnopqrstuvwxyz") if zone[-1].isalpha() else zone
    return options


class AwsCloud(AdapterCloud):
    name: ClassVar[str] = "aws"
    annotation_provider: ClassVar[str] = ANNOTATION_PROVIDER
    support: ClassVar[AnnotationSupport] = SUPPORT

    def __init__(self, context: ProviderContext) -> None:
        """Offline (``ProviderContext.offline``) builds the same: boto3 clients make no call and resolve
        no credentials until a request, and the offline planner sends none."""
        self.context = context
        options = resolve_options(context)
        #: every AWS request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("aws")
        self.clients: Clients = make_clients(options, self.counter, offline=context.offline)
        lb = AwsLoadBalancer(self.clients, options)
        families = (options.get("aws-node-ip-families") or "ipv4").split(",")
        self.capabilities = Capabilities(
            load_balancer=lb, planner=AwsPlanner(lb), inventory=AwsInventory(lb, context.cluster_name),
            instances=AwsInstances(self.clients, [f.strip().lower() for f in families if f.strip()]))

    def close(self) -> None:
        for client in (self.clients.elb, self.clients.elbv2, self.clients.ec2):
            client.close()
