"""Workarounds for moto's fidelity gaps, applied in the test process only (moto runs in-process).

Pinned to moto 5.2.5 (pyproject.toml): each patch reaches into moto internals. The gaps
(reference emulators.md §1.3) and what is done about them:

1. Classic ELB ``InstanceProtocol`` is not stored (echoes ``Protocol``): PATCHED below, else an
   SSL->TCP or HTTPS->HTTP listener would differ from the plan forever.
2. NLB ARNs say ``/app/``: not patched; the adapter never parses ARNs.
3. A duplicate NLB name creates a second NLB: not patched; tests assert the adapter never
   creates twice (it describes by name first) by counting load balancers.
4. Classic ELB DNS names are not region/scheme-correct: tests compare with the describe output.
5. Missing validation (unknown instances, policy names, TLS without a cert, SG in use): tests do
   not rely on AWS rejecting those.
6. ``describe_load_balancer_policy_types`` is missing: the adapter never calls it.
7. EIP ``AllocationId`` ignored: not used.
8. Health is always healthy: no test asserts health.
9. (found here) Classic ELB ``DeleteLoadBalancerListeners`` with several ports keeps them all (its
   loop re-adds every listener not equal to the current port): PATCHED below.
10. (found here) ELBv2 ``ModifyListener`` rejects the NLB protocols TLS, UDP and TCP_UDP
   (``UnsupportedProtocol``) and drops TLS certificates: PATCHED below to store them as AWS does.
11. (found here) Classic ELB ``DescribeLoadBalancerPolicies`` without a load-balancer name fails instead of
   listing the predefined policies: PATCHED below with the predefined names AWS documents.
12. (found here) ELBv2 ``ModifyListener`` ignores ``AlpnPolicy``: PATCHED below to store it.
"""

from __future__ import annotations

from typing import Any

import moto
import moto.elb.models as elb_models
import moto.elb.policies as elb_policies
import moto.elbv2.models as elbv2_models
import moto.elbv2.responses as elbv2_responses

assert moto.__version__ == "5.2.5", f"moto_patches are written for moto 5.2.5, not {moto.__version__}"

_applied = False
#: the Classic ELB predefined security policies AWS documents (gap 11)
CLB_PREDEFINED_POLICIES = (
    "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-1-2017-01", "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05", "ELBSecurityPolicy-2015-03", "ELBSecurityPolicy-2015-02",
    "ELBSecurityPolicy-2014-10", "ELBSecurityPolicy-2014-01", "ELBSecurityPolicy-2011-08",
    "ELBSample-ELBDefaultCipherPolicy", "ELBSample-OpenSSLDefaultCipherPolicy",
)


def _remember_instance_protocols(listeners: list[Any], ports: list[dict[str, Any]]) -> None:
    by_port = {int(p.get("LoadBalancerPort") or p.get("load_balancer_port") or 0): p for p in ports}
    for lst in listeners:
        port = by_port.get(int(lst.load_balancer_port))
        if port is not None and port.get("InstanceProtocol"):
            lst._instance_protocol = str(port["InstanceProtocol"]).upper()


def apply() -> None:
    """Idempotent; call before the first request."""
    global _applied
    if _applied:
        return
    _applied = True
    elb_models.FakeListener.instance_protocol = property(  # type: ignore[method-assign,assignment]
        lambda self: getattr(self, "_instance_protocol", None) or self.protocol)

    init = elb_models.LoadBalancer.__init__

    def patched_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _remember_instance_protocols(self.listeners, kwargs.get("ports") or [])

    elb_models.LoadBalancer.__init__ = patched_init  # type: ignore[method-assign]

    create_listeners = elb_models.ELBBackend.create_load_balancer_listeners

    def patched_create_listeners(self: Any, name: str, ports: list[dict[str, Any]]) -> Any:
        lb = create_listeners(self, name, ports)
        if lb is not None:
            _remember_instance_protocols(lb.listeners, ports)
        return lb

    elb_models.ELBBackend.create_load_balancer_listeners = patched_create_listeners  # type: ignore[method-assign]

    def patched_delete_listeners(self: Any, name: str, ports: list[str]) -> Any:
        balancer = self.get_load_balancer(name)
        if balancer:
            gone = {int(p) for p in ports}
            balancer.listeners = [lst for lst in balancer.listeners if int(lst.load_balancer_port) not in gone]
        return balancer

    elb_models.ELBBackend.delete_load_balancer_listeners = patched_delete_listeners  # type: ignore[method-assign]

    modify_listener = elbv2_models.ELBv2Backend.modify_listener

    def patched_modify_listener(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        """moto's signature: (arn, port, protocol, ssl_policy, certificates, actions)."""
        names = ("port", "protocol", "ssl_policy", "certificates", "actions")
        kwargs.update(zip(names, args, strict=False))
        protocol, certificates = kwargs.get("protocol"), kwargs.get("certificates")
        nlb_protocol = protocol in ("TLS", "UDP", "TCP_UDP")
        listener = modify_listener(self, arn, **{**kwargs, "protocol": None if nlb_protocol else protocol})
        if protocol is not None and nlb_protocol:
            listener.protocol = protocol
        if protocol == "TLS" and certificates:
            listener.certificate = certificates[0]["CertificateArn"]
            listener.certificates = [c["CertificateArn"] for c in certificates]
        return listener

    elbv2_models.ELBv2Backend.modify_listener = patched_modify_listener  # type: ignore[method-assign]

    describe_policies = elb_models.ELBBackend.describe_load_balancer_policies

    def patched_describe_policies(self: Any, lb_name: str | None, policy_names: list[str]) -> Any:
        if lb_name:
            return describe_policies(self, lb_name, policy_names)
        wanted = policy_names or list(CLB_PREDEFINED_POLICIES)
        if any(p not in CLB_PREDEFINED_POLICIES for p in wanted):
            raise elb_models.PolicyNotFoundError()
        return [elb_policies.OtherPolicy(p, "SSLNegotiationPolicyType", []) for p in wanted]

    elb_models.ELBBackend.describe_load_balancer_policies = patched_describe_policies  # type: ignore[method-assign]

    modify_listener_response = elbv2_responses.ELBV2Response.modify_listener

    def patched_modify_listener_response(self: Any) -> Any:
        result = modify_listener_response(self)
        alpn = self._get_param("AlpnPolicy")
        if alpn is not None:
            self.elbv2_backend.describe_listeners(None, [self._get_param("ListenerArn")])[0].alpn_policy = alpn
        return result

    elbv2_responses.ELBV2Response.modify_listener = patched_modify_listener_response  # type: ignore[method-assign]


def raise_rule_limit() -> None:
    """Let one security group hold 1000 rules instead of moto's 60 (benchmarks only).

    AWS's default is 60 inbound rules per group, adjustable up to 1000 (rules per group x groups
    per interface <= 1000). 100 Services with two node ports each need 200+ rules in the node
    group, with upstream's rule layout as with ours; a cluster that size raises the quota.
    """
    from moto.ec2.models.security_groups import SecurityGroupBackend

    def within_quota(self: Any, group: Any, current_rule_nb: int, ip_ranges: Any, *rest: Any, **kw: Any) -> None:
        source_groups = rest[0] if rest else kw.get("source_groups")
        if current_rule_nb + len(ip_ranges or ()) + len(source_groups or ()) > 1000:
            raise AssertionError("more than 1000 rules in one security group")

    SecurityGroupBackend._verify_group_will_respect_rule_count_limit = within_quota  # type: ignore[method-assign]
