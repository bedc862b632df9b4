"""Every AWS annotation the registry declares either takes effect or is refused: a Warning event naming
the annotation, its value and what is accepted, and no mutating AWS call for that Service.

Through the controller against moto. Effects of the keys cloud-provider-aws implements are the
cases of test_controller.py; the AWS Load Balancer Controller keys ccm builds are the cases here;
the refusals run as Services side by side in one cluster that must make no mutating call at all.
A last check asserts that together they cover every declared AWS key.
"""

from __future__ import annotations

from ccm.annotations import aws as ann
from ccm.annotations import registry
from tests.providers.aws import test_controller as effects
from tests.providers.aws.cluster import Cluster
from tests.providers.aws.test_controller import NLB, A, Case, lb_attrs, nlb_scheme, run_cases
from tests.util import wait_for

CERT = effects.CERT
TLS = {**NLB, **A(SSL_CERT=CERT, SSL_PORTS="443")}


def alpn(policy: str | None) -> effects.Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        got = {lst["Port"]: lst.get("AlpnPolicy") or None for lst in c.aws.nlb_listeners(n)}
        assert got == {80: None, 443: [policy] if policy else None}, got
    return check


def instance_targets(c: Cluster, n: str, np: dict[int, int]) -> None:
    tgs = effects.tgs_of(c, n)
    assert {tg["TargetType"] for tg in tgs.values()} == {"instance"} and c.aws.nlb(n)["IpAddressType"] == "ipv4"
    assert not c.aws.nlb(n).get("SecurityGroups")  # disable-nlb-sg: no frontend group


def recreated_internal(c: Cluster, n: str, np: dict[int, int]) -> None:
    nlb_scheme("internal")(c, n, np)
    assert any("LoadBalancerRecreated" in e for e in c.events(effects.c_name(c, n)))


def stays_internal(c: Cluster, n: str, np: dict[int, int]) -> None:
    nlb_scheme("internal")(c, n, np)
    assert any("stays internal" in e for e in c.events(effects.c_name(c, n)))


def conflict_noted(scheme: str) -> effects.Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        effects.clb_scheme(scheme)(c, n, np)
        assert any("AnnotationConflict" in e for e in c.events(effects.c_name(c, n)))
    return check


EFFECTS = [
    Case("scheme-clb", A(SCHEME="internal"), effects.clb_scheme("internal"), A(HEALTHCHECK_INTERVAL="30"),
         effects.clb_scheme("internal")),
    Case("scheme-wins-internal", A(SCHEME="internal", INTERNAL="false"), conflict_noted("internal"),
         A(HEALTHCHECK_INTERVAL="30"), conflict_noted("internal")),
    # internet-facing -> internal: AWS cannot change a scheme; leaving it public is not an option
    Case("to-internal", NLB, nlb_scheme("internet-facing"), A(SCHEME="internal"), recreated_internal),
    # internal -> internet-facing: never made more exposed in place
    Case("to-public", {**NLB, **A(INTERNAL="true")}, nlb_scheme("internal"),
         A(INTERNAL=None, SCHEME="internet-facing"), stays_internal),
    Case("attributes", {**NLB, **A(ATTRIBUTES="deletion_protection.enabled=true,load_balancing.cross_zone.enabled="
                                   "true,dns_record.client_routing_policy=availability_zone_affinity")},
         lb_attrs(deletion_protection__enabled="true", load_balancing__cross_zone__enabled="true",
                  dns_record__client_routing_policy="availability_zone_affinity"),
         A(ATTRIBUTES="access_logs.s3.enabled=true,access_logs.s3.bucket=logs-bucket"),
         lb_attrs(deletion_protection__enabled="false", load_balancing__cross_zone__enabled="false",
                  access_logs__s3__enabled="true", access_logs__s3__bucket="logs-bucket",
                  dns_record__client_routing_policy="any_availability_zone")),
    Case("alpn", {**TLS, **A(ALPN_POLICY="HTTP2Preferred")}, alpn("HTTP2Preferred"), A(ALPN_POLICY="HTTP1Only"),
         alpn("HTTP1Only")),
    Case("lbc-values-ccm-builds", {**NLB, **A(
        NLB_TARGET_TYPE="instance", IP_ADDRESS_TYPE="ipv4", DISABLE_NLB_SG="true",
        MANAGE_BACKEND_SECURITY_GROUP_RULES="true", ENABLE_ICMP_FOR_PATH_MTU_DISCOVERY="on",
        MULTI_CLUSTER_TARGET_GROUP="false", ENABLE_TCP_UDP_LISTENER="true")}, instance_targets,
         A(HEALTHCHECK_INTERVAL="10"), instance_targets),
]

#: (Service name, annotations by declaration name, load-balancer type, the event reason)
REFUSALS: list[tuple[str, dict[str, str], str, str]] = [
    ("target-type-ip", {"NLB_TARGET_TYPE": "ip"}, "nlb", "UnsupportedAnnotation"),
    ("name", {"NAME": "my-lb"}, "nlb", "UnsupportedAnnotation"),
    ("dualstack", {"IP_ADDRESS_TYPE": "dualstack"}, "nlb", "UnsupportedAnnotation"),
    ("success-codes", {"HEALTHCHECK_SUCCESS_CODES": "200"}, "nlb", "UnsupportedAnnotation"),
    ("ipv6", {"IPV6_ADDRESSES": "2001:db8::1,2001:db8::2"}, "nlb", "UnsupportedAnnotation"),
    ("backend-rules-off", {"MANAGE_BACKEND_SECURITY_GROUP_RULES": "false"}, "nlb", "UnsupportedAnnotation"),
    ("prefix-lists", {"SECURITY_GROUP_PREFIX_LISTS": "pl-1a2b"}, "nlb", "UnsupportedAnnotation"),
    ("nlb-sg-wanted", {"DISABLE_NLB_SG": "false"}, "nlb", "UnsupportedAnnotation"),
    ("nlb-sg-on-clb", {"DISABLE_NLB_SG": "true"}, "clb", "UnsupportedAnnotation"),
    ("pp-per-tg", {"PROXY_PROTOCOL_PER_TARGET_GROUP": "80"}, "nlb", "UnsupportedAnnotation"),
    ("capacity", {"MINIMUM_LOAD_BALANCER_CAPACITY": "CapacityUnits=1"}, "nlb", "UnsupportedAnnotation"),
    ("multi-cluster", {"MULTI_CLUSTER_TARGET_GROUP": "true"}, "nlb", "UnsupportedAnnotation"),
    ("no-tcp-udp", {"ENABLE_TCP_UDP_LISTENER": "false"}, "nlb", "UnsupportedAnnotation"),
    ("quic", {"QUIC_ENABLED_PORTS": "443"}, "nlb", "UnsupportedAnnotation"),
    ("attributes-unknown", {"ATTRIBUTES": "routing.http2.enabled=true"}, "nlb", "UnsupportedAnnotation"),
    ("attributes-on-clb", {"ATTRIBUTES": "deletion_protection.enabled=true"}, "clb", "UnsupportedAnnotation"),
    ("alpn-without-tls", {"ALPN_POLICY": "HTTP2Only"}, "nlb", "UnsupportedAnnotation"),
    ("alpn-on-clb", {"ALPN_POLICY": "HTTP2Only", "SSL_CERT": CERT}, "clb", "UnsupportedAnnotation"),
    ("scheme-more-exposed", {"SCHEME": "internet-facing", "INTERNAL": "true"}, "nlb", "InvalidAnnotation"),
    ("policy-clb", {"SSL_NEGOTIATION_POLICY": "NoSuchPolicy-2099", "SSL_CERT": CERT}, "clb", "InvalidAnnotation"),
    ("policy-nlb", {"SSL_NEGOTIATION_POLICY": "NoSuchPolicy-2099", "SSL_CERT": CERT}, "nlb", "InvalidAnnotation"),
    ("http-on-nlb", {"BACKEND_PROTOCOL": "http"}, "nlb", "UnsupportedAnnotation"),
    ("idle-on-nlb", {"CONNECTION_IDLE_TIMEOUT": "120"}, "nlb", "UnsupportedAnnotation"),
    ("emit-on-nlb", {"ACCESS_LOG_EMIT_INTERVAL": "5"}, "nlb", "UnsupportedAnnotation"),
    ("sgs-on-nlb", {"SECURITY_GROUPS": "sg-0123abcd"}, "nlb", "UnsupportedAnnotation"),
    ("ssl-hc-on-nlb", {"HEALTHCHECK_PROTOCOL": "SSL"}, "nlb", "UnsupportedAnnotation"),
    ("eip-internal", {"EIP_ALLOCATIONS": "eipalloc-1,eipalloc-2", "INTERNAL": "true"}, "nlb",
     "InvalidSubnetMappings"),
    ("eip-count", {"EIP_ALLOCATIONS": "eipalloc-1"}, "nlb", "InvalidSubnetMappings"),
]
#: the key whose name and value the event must carry, when a refusal sets several
NAMED = {"alpn-on-clb": "ALPN_POLICY", "policy-clb": "SSL_NEGOTIATION_POLICY", "policy-nlb": "SSL_NEGOTIATION_POLICY",
         "scheme-more-exposed": "SCHEME", "eip-internal": "EIP_ALLOCATIONS"}
LISTENER_ATTRIBUTES = ann.LISTENER_ATTRIBUTES.key_for(protocol="TCP", port=80)


def _annotations(values: dict[str, str], lb_type: str) -> dict[str, str]:
    out = {getattr(ann, k).key: v for k, v in values.items()}
    return {**out, **(NLB if lb_type == "nlb" else {})}


def test_lbc_keys_ccm_builds_take_effect(cluster):
    run_cases(cluster, EFFECTS)


def test_every_other_annotation_is_refused_with_a_warning_and_no_call(cluster):
    services = {name: _annotations(values, lb_type) for name, values, lb_type, _ in REFUSALS}
    services["listener-attributes"] = {**NLB, LISTENER_ATTRIBUTES: "tcp.idle_timeout.seconds=350"}
    for name, values in services.items():
        cluster.service(name, values)
    reasons = {name: reason for name, _, _, reason in REFUSALS} | {"listener-attributes": "UnsupportedAnnotation"}
    for name, reason in reasons.items():
        [event] = cluster.wait_event(name, reason)[:1]
        decl_name = NAMED.get(name) or next(iter(dict(REFUSALS_BY_NAME.get(name, {}))), None)
        key = getattr(ann, decl_name).key if decl_name else LISTENER_ATTRIBUTES
        assert f'annotation {key}="{services[name][key]}"' in event, event
    assert cluster.cloud.counter.totals()[0] == 0  # not one mutating call for any of them
    assert cluster.aws.clbs() == [] and cluster.aws.nlbs() == []
    for name in services:
        cluster.delete(name)
    wait_for(lambda: all(cluster.gone(name) for name in services), 30, message="services deleted")
    assert cluster.cloud.inventory().list_owned() == ()


REFUSALS_BY_NAME = {name: values for name, values, _, _ in REFUSALS}


def test_the_cases_cover_every_declared_aws_annotation():
    covered: set[str] = set()
    for case in (*effects.CLB_CASES, *effects.NLB_CASES, *EFFECTS):
        covered |= {k for k in (*case.create, *case.update) if k != "spec"}
    for _, values, _, _ in REFUSALS:
        covered |= {getattr(ann, k).key for k in values}
    covered.add(ann.LISTENER_ATTRIBUTES.key)
    declared = {a.key for a in registry.for_provider("aws") if a.cloud == "aws"}
    assert declared - covered == set()


