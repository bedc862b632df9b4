"""AWS: Classic ELB (default) and NLB (``aws-load-balancer-type: nlb``) with boto3.

Follows cloud-provider-aws; deviations are documented where they are made and in README.md.
Layout: ``settings`` reads the annotations, ``support`` declares which are implemented,
``world`` reads EC2 (instances, subnets, node groups), ``kinds`` is the per-type interface that
``clb`` and ``nlb`` implement (desired state, describe calls, pure plans), ``rules`` diffs
security-group rules, ``apply`` is the only module that sends a mutating call,
``loadbalancer`` runs observe -> desired -> plan -> apply, ``planning`` and ``inventory`` are the
optional capabilities, ``cloud`` ties them together.

``ProviderContext.options`` (all optional): ``aws-endpoint-url`` (else boto3's AWS_ENDPOINT_URL
handling), ``aws-region`` (else the boto3 chain), ``aws-vpc-id`` (else the nodes' VPC),
``aws-max-attempts`` (botocore standard retries, default 3), ``aws-connect-timeout`` and
``aws-read-timeout`` in seconds; ``aws-node-ip-families`` (``ipv4``, ``ipv6`` or both, comma-separated:
the node addresses the instances capability reports, default ipv4); ``aws-access-key-id`` with
``aws-secret-access-key`` (and optionally ``aws-session-token``) as static credentials, else the boto3 chain (environment, profile, role).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.port import ProviderContext

if TYPE_CHECKING:
    from providers.aws.cloud import AwsCloud

annotation_provider = "aws"


def create(context: ProviderContext) -> AwsCloud:
    """Imported lazily so ``providers.aws.support`` (read by ``ccm annotations``) costs no boto3."""
    from providers.aws.cloud import AwsCloud

    return AwsCloud(context)
