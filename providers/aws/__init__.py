"""AWS: Classic ELB (default) and NLB (``aws-load-balancer-type: nlb``) with boto3.

Follows cloud-provider-aws; deviations are documented where they are made. Layout:
``settings`` reads the annotations, ``world`` reads EC2 (instances, subnets, node groups),
``clb``/``nlb`` hold the desired state, the describe calls and the pure plans, ``rules``
diffs security-group rules, ``ops.apply`` is the only place that sends a mutating call.

``ProviderContext.options`` (all optional): ``aws-endpoint-url`` (else boto3's AWS_ENDPOINT_URL
handling), ``aws-region`` (else the boto3 chain), ``aws-vpc-id`` (else the nodes' VPC),
``aws-max-attempts`` (botocore standard retries, default 3), ``aws-connect-timeout`` and
``aws-read-timeout`` in seconds; ``aws-node-ip-families`` (``ipv4``, ``ipv6`` or both, comma-separated:
the node addresses the instances capability reports, default ipv4); ``aws-access-key-id`` with
``aws-secret-access-key`` (and optionally ``aws-session-token``) as static credentials, else the boto3 chain (environment, profile, role).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from providers.aws.clients import Clients, make_clients
from providers.aws.cloudconfig import parse_cloud_config
from providers.aws.instances import AwsInstances
from providers.aws.loadbalancer import AwsLoadBalancer
from providers.base import ApiCallCounter, CloudProvider, LoadBalancer, ProviderContext
from providers.common import check_known_options
from providers.instances import Instances

__all__ = ["OPTIONS", "AwsCloud", "create", "parse_cloud_config"]
annotation_provider = "aws"
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


class AwsCloud(CloudProvider):
    name: ClassVar[str] = "aws"
    annotation_provider: ClassVar[str] = annotation_provider

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        options = resolve_options(context)
        #: every AWS request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("aws")
        self.clients: Clients = make_clients(options, self.counter)
        self._lb = AwsLoadBalancer(self.clients, options)
        families = (options.get("aws-node-ip-families") or "ipv4").split(",")
        self._instances = AwsInstances(self.clients, [f.strip().lower() for f in families if f.strip()])

    def load_balancer(self) -> LoadBalancer | None:
        return self._lb

    def instances(self) -> Instances | None:
        return self._instances

    def close(self) -> None:
        for client in (self.clients.elb, self.clients.elbv2, self.clients.ec2):
            client.close()


def create(context: ProviderContext) -> CloudProvider:
    return AwsCloud(context)
