"""Reading the AWS annotations into Settings, and refusing before any call what cannot be built as
asked: scheme precedence, aws-load-balancer-attributes, refusals by load-balancer type, and messages
that name the annotation, its value and what is accepted."""

from __future__ import annotations

import pytest

from ccm.annotations import aws as ann
from ccm.annotations.registry import parse
from providers.aws.settings import check_settings, settings_from_request
from providers.port import HealthCheck, LoadBalancerRequest, ServicePort, UserError

TCP = (ServicePort("http", "TCP", 80, 30080), ServicePort("https", "TCP", 443, 30443))
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/x"


def req(annotations: dict[str, str], ports=TCP, **kw) -> LoadBalancerRequest:
    parsed = parse("aws", {getattr(ann, k).key: v for k, v in annotations.items()})
    assert not parsed.errors, parsed.errors
    return LoadBalancerRequest(cluster_name="c", namespace="ns", name="web", uid="u", ports=ports,
                               annotations=parsed.values, **kw)


@pytest.mark.parametrize(("annotations", "internal", "noted"), [
    pytest.param({}, False, False, id="default-internet-facing"),
    pytest.param({"INTERNAL": "true"}, True, False, id="internal"),
    pytest.param({"SCHEME": "internal"}, True, False, id="scheme-internal"),
    pytest.param({"SCHEME": "internet-facing", "INTERNAL": "false"}, False, False, id="agree"),
    pytest.param({"SCHEME": "internal", "INTERNAL": "false"}, True, True, id="scheme-wins-towards-internal"),
])
def test_scheme_precedence(annotations, internal, noted):
    settings = settings_from_request(req(annotations))
    assert settings.internal is internal
    assert bool(settings.notes) is noted


def test_a_conflict_that_would_be_more_exposed_is_refused_before_anything():
    values = {ann.SCHEME.key: "internet-facing", ann.INTERNAL.key: "true"}
    [error] = parse("aws", values).errors
    assert str(error).startswith(f'annotation {ann.SCHEME.key}="internet-facing" is invalid: conflicts with '
                                 f"{ann.INTERNAL.key}")


def test_attributes_win_over_the_legacy_annotations_and_are_validated():
    settings = settings_from_request(req({
        "ATTRIBUTES": "load_balancing.cross_zone.enabled=true,deletion_protection.enabled=true",
        "CROSS_ZONE_LOAD_BALANCING_ENABLED": "false"}))
    assert settings.cross_zone is True and settings.lb_attributes["deletion_protection.enabled"] == "true"
    assert len(settings.notes) == 1 and ann.CROSS_ZONE_LOAD_BALANCING_ENABLED.key in settings.notes[0]
    with pytest.raises(UserError) as info:
        settings_from_request(req({"ATTRIBUTES": "dns_record.client_routing_policy=nearest"}))
    assert str(info.value) == (
        f'annotation {ann.ATTRIBUTES.key}="dns_record.client_routing_policy=nearest" is invalid: '
        "dns_record.client_routing_policy must be one of any_availability_zone, availability_zone_affinity, "
        "partial_availability_zone_affinity")


REFUSED = [
    # (annotations, load-balancer type, internal, ports, local, key that must be named, value, accepted hint)
    ({"ATTRIBUTES": "deletion_protection.enabled=true"}, "clb", False, TCP, False, "ATTRIBUTES",
     "deletion_protection.enabled=true", "applies to NLBs only"),
    ({"EXTRA_SECURITY_GROUPS": "sg-1"}, "nlb", False, TCP, False, "EXTRA_SECURITY_GROUPS", "sg-1",
     "applies to Classic ELBs only"),
    ({"CONNECTION_IDLE_TIMEOUT": "120"}, "nlb", False, TCP, False, "CONNECTION_IDLE_TIMEOUT", "120",
     "applies to Classic ELBs only"),
    ({"BACKEND_PROTOCOL": "http"}, "nlb", False, TCP, False, "BACKEND_PROTOCOL", "http", "supported values are"),
    ({"ACCESS_LOG_ENABLED": "true"}, "clb", False, TCP, False, "ACCESS_LOG_ENABLED", "true", "set"),
    ({"EIP_ALLOCATIONS": "eipalloc-1"}, "nlb", True, TCP, False, "EIP_ALLOCATIONS", "eipalloc-1",
     "needs an internet-facing NLB"),
    ({"PRIVATE_IPV4_ADDRESSES": "10.0.0.9"}, "nlb", False, TCP, False, "PRIVATE_IPV4_ADDRESSES", "10.0.0.9",
     "needs an internal NLB"),
    ({"HEALTHCHECK_PROTOCOL": "SSL"}, "nlb", False, TCP, False, "HEALTHCHECK_PROTOCOL", "SSL", "use TCP, HTTP or HTTPS"),
    ({"HEALTHCHECK_TIMEOUT": "40"}, "nlb", False, TCP, False, "HEALTHCHECK_TIMEOUT", "40", "below 30"),
    ({"HEALTHCHECK_TIMEOUT": "12"}, "nlb", False, TCP, True, "HEALTHCHECK_TIMEOUT", "12", "below 10"),
    ({"HEALTHCHECK_INTERVAL": "5"}, "clb", False, TCP, False, "HEALTHCHECK_INTERVAL", "5", "above 5"),
    ({"TARGET_GROUP_ATTRIBUTES": "preserve_client_ip.enabled=false"}, "nlb", False,
     (ServicePort("dns", "UDP", 53, 30053),), False, "TARGET_GROUP_ATTRIBUTES", "preserve_client_ip.enabled=false",
     "needs TCP or TLS ports"),
    ({"ALPN_POLICY": "HTTP2Preferred"}, "nlb", False, TCP, False, "ALPN_POLICY", "HTTP2Preferred",
     "set service.beta.kubernetes.io/aws-load-balancer-ssl-cert"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[next(iter(r[0])) + "-" + r[1] for r in REFUSED])
def test_refusals_name_the_annotation_its_value_and_what_is_accepted(case):
    annotations, lb_type, internal, ports, local, key, value, accepted = case
    request = req(annotations, ports, health_check=HealthCheck("/healthz", 32000) if local else None)
    with pytest.raises(UserError) as info:
        check_settings(settings_from_request(request), lb_type, internal, request)
    message = str(info.value)
    assert message.startswith(f'annotation {getattr(ann, key).key}="{value}" ')
    assert accepted in message
    assert info.value.reason in ("InvalidAnnotation", "UnsupportedAnnotation", "InvalidSubnetMappings",
                                 "InvalidHealthCheck", "InvalidAccessLogConfiguration", "InvalidTargetGroupAttributes")


def test_alpn_on_a_tls_listener_is_accepted():
    request = req({"ALPN_POLICY": "HTTP2Preferred", "SSL_CERT": CERT, "SSL_PORTS": "443"})
    check_settings(settings_from_request(request), "nlb", False, request)
