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

from typing import ClassVar

from providers.aws.clients import Clients, make_clients
from providers.aws.instances import AwsInstances
from providers.aws.loadbalancer import AwsLoadBalancer
from providers.base import ApiCallCounter, CloudProvider, LoadBalancer, ProviderContext
from providers.instances import Instances

annotation_provider = "aws"


class AwsCloud(CloudProvider):
    name: ClassVar[str] = "aws"
    annotation_provider: ClassVar[str] = annotation_provider

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        #: every AWS request this provider sent (benchmarks and tests read it in-process)
        self.counter = ApiCallCounter("aws")
        self.clients: Clients = make_clients(context.options, self.counter)
        self._lb = AwsLoadBalancer(self.clients, context.options)
        families = (context.options.get("aws-node-ip-families") or "ipv4").split(",")
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
