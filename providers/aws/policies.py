"""Predefined TLS security policies (``aws-load-balancer-ssl-negotiation-policy``), checked before any
mutating call.

AWS answers which policies exist: ``DescribeLoadBalancerPolicies`` without a load balancer lists
the Classic ELB's predefined ones, ``DescribeSslPolicies`` the ELBv2 ones; a name it does not know
is refused with an ``InvalidAnnotation`` Warning instead of building a load balancer whose TLS
listener AWS then rejects half-way. Policies never go away once published, so a name AWS
confirmed is remembered for the life of the provider (a steady resync makes no extra call).
"""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from ccm.annotations import aws as ann
from providers.aws.clients import Clients, error_code
from providers.aws.settings import CLB, annotation_error

_NOT_FOUND = frozenset({"PolicyNotFound", "PolicyNotFoundException", "SSLPolicyNotFound",
                        "SSLPolicyNotFoundException"})
_HOW_TO_LIST = {
    CLB: ("a predefined Classic ELB security policy (aws elb describe-load-balancer-policies lists them, e.g. "
          "ELBSecurityPolicy-TLS-1-2-2017-01)"),
    "nlb": ("a predefined NLB security policy (aws elbv2 describe-ssl-policies lists them, e.g. "
            "ELBSecurityPolicy-TLS13-1-2-2021-06)"),
}


class PolicyCheck:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._lock = threading.Lock()
        self._known: set[tuple[str, str]] = set()

    def check(self, lb_type: str, policy: str | None) -> None:
        """Raise UserError (reason InvalidAnnotation) when AWS knows no predefined ``policy`` for ``lb_type``."""
        if policy is None:
            return
        with self._lock:
            if (lb_type, policy) in self._known:
                return
        try:
            if lb_type == CLB:
                found = self.clients.elb.describe_load_balancer_policies(PolicyNames=[policy])["PolicyDescriptions"]
            else:
                found = self.clients.elbv2.describe_ssl_policies(Names=[policy])["SslPolicies"]
        except ClientError as exc:
            if error_code(exc) not in _NOT_FOUND:
                raise
            found = []
        if not found:  # AWS answers NotFound; an emulator may answer an empty list
            raise annotation_error(ann.SSL_NEGOTIATION_POLICY, policy,
                                   f"is not a known security policy: use {_HOW_TO_LIST[lb_type]}")
        with self._lock:
            self._known.add((lb_type, policy))
