"""The registry: declarations, provider scope, parse results, aliases, cross-field rules, create-only."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping

import pytest

from ccm.annotations import alibaba, aws, azure, common, gcp, openstack, registry
from ccm.annotations.registry import Annotation, AnnotationError
from ccm.annotations.types import Str

CLOUD_MODULES = ("common", "aws", "gcp", "azure", "openstack", "ibm", "baidu", "tencent", "alibaba")
#: the prefix each module's constants are named without (first match wins)
CONSTANT_PREFIXES = (
    "service.beta.kubernetes.io/aws-load-balancer-",
    "service.beta.kubernetes.io/azure-",
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-",
    "service.beta.kubernetes.io/openstack-",
    "service.beta.kubernetes.io/cce-",
    "service.kubernetes.io/ibm-load-balancer-cloud-provider-",
    "service.beta.kubernetes.io/",
    "service.kubernetes.io/",
    "service.cloud.tencent.com/",
    "alpha.cloud.google.com/",
    "cloud.google.com/",
    "networking.gke.io/",
    "loadbalancer.openstack.org/",
)


def constant_name(key: str) -> str:
    """Key without its prefix, upper-case, ``-``/``.`` as ``_``; placeholders (``{port}``) dropped."""
    prefix = next(p for p in CONSTANT_PREFIXES if key.startswith(p))
    name = re.sub(r"[-._]*\{\w+\}", "", key.removeprefix(prefix))
    return re.sub(r"[-._]+", "_", name).strip("_").upper()


# --- declarations ---------------------------------------------------------------------------


def test_every_declaration_has_a_constant_named_from_its_key():
    exported = {}
    for name in CLOUD_MODULES:
        module = importlib.import_module(f"ccm.annotations.{name}")
        for attr, value in vars(module).items():
            if isinstance(value, Annotation) and attr == constant_name(value.key):
                exported[value.key] = (name, attr)
    missing = [a.key for a in registry.all_annotations() if a.key not in exported]
    assert missing == []


def test_constant_name_rule():
    assert constant_name(aws.SSL_CERT.key) == "SSL_CERT"
    assert constant_name("service.beta.kubernetes.io/port_{port}_health-probe_num-of-probe") == (
        "PORT_HEALTH_PROBE_NUM_OF_PROBE")
    assert constant_name("service.kubernetes.io/service.extensiveParameters") == "SERVICE_EXTENSIVEPARAMETERS"


def test_aws_constants_the_adapter_uses():
    assert aws.TYPE.key == "service.beta.kubernetes.io/aws-load-balancer-type"
    for name in ("INTERNAL", "SSL_CERT", "SSL_PORTS", "SSL_NEGOTIATION_POLICY", "BACKEND_PROTOCOL",
                 "PROXY_PROTOCOL", "ACCESS_LOG_ENABLED", "ACCESS_LOG_EMIT_INTERVAL", "ACCESS_LOG_S3_BUCKET_NAME",
                 "ACCESS_LOG_S3_BUCKET_PREFIX", "CONNECTION_DRAINING_ENABLED", "CONNECTION_DRAINING_TIMEOUT",
                 "CONNECTION_IDLE_TIMEOUT", "CROSS_ZONE_LOAD_BALANCING_ENABLED", "ADDITIONAL_RESOURCE_TAGS",
                 "SECURITY_GROUPS", "EXTRA_SECURITY_GROUPS", "HEALTHCHECK_HEALTHY_THRESHOLD",
                 "HEALTHCHECK_UNHEALTHY_THRESHOLD", "HEALTHCHECK_INTERVAL", "HEALTHCHECK_TIMEOUT",
                 "HEALTHCHECK_PORT", "HEALTHCHECK_PROTOCOL", "HEALTHCHECK_PATH", "TARGET_NODE_LABELS",
                 "EIP_ALLOCATIONS", "PRIVATE_IPV4_ADDRESSES", "SUBNETS", "TARGET_GROUP_ATTRIBUTES",
                 "IP_ADDRESS_TYPE", "NLB_TARGET_TYPE"):
        assert isinstance(getattr(aws, name), Annotation), name


def test_declarations_are_complete_and_documented():
    anns = registry.all_annotations()
    assert {a.cloud for a in anns} == {"common", *registry.PROVIDERS}
    for a in anns:
        assert a.doc.endswith(".") and len(a.doc.split()) >= 4, a.key
        assert a.since == "0.1"
        assert a.upstream in registry.UPSTREAM
        assert a.providers, a.key


def _as_raw(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def test_declared_defaults_are_values_the_parser_produces():
    for a in registry.all_annotations():
        assert a.parser.describe, a.key
        if a.default is None or isinstance(a.default, Mapping):
            continue
        assert a.parse(_as_raw(a.default)) == a.default, a.key


def test_all_annotations_sorted_common_first_then_cloud_and_key():
    anns = registry.all_annotations()
    assert anns[0] is common.LOAD_BALANCER_SOURCE_RANGES
    keys = [(a.cloud, a.key) for a in anns[1:]]
    assert keys == sorted(keys)


def test_a_key_or_alias_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare(aws.TYPE.key, Str(), providers={"aws"}, doc="Duplicate.")
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare("cloud.google.com/load-balancer-type", Str(), providers={"gcp"}, doc="Alias clash.")


def test_declarations_are_hashable_dict_keys():
    # adapters' tests map declarations to raw values; some defaults (mappings) are unhashable
    raw = {aws.TARGET_NODE_LABELS: "role=edge", aws.TYPE: "nlb"}
    assert raw[aws.TARGET_NODE_LABELS] == "role=edge"
    assert len({*registry.all_annotations()}) == len(registry.all_annotations())


def test_get_finds_canonical_keys_and_aliases():
    assert registry.get(aws.TYPE.key) is aws.TYPE
    assert registry.get("cloud.google.com/load-balancer-type") is gcp.LOAD_BALANCER_TYPE
    assert registry.get("example.com/nothing") is None


def test_create_only_declarations_from_the_reference():
    create_only = {a.key for a in registry.all_annotations() if a.create_only}
    for ann in (aws.TYPE, aws.INTERNAL, aws.SUBNETS, aws.EIP_ALLOCATIONS, aws.PRIVATE_IPV4_ADDRESSES):
        assert ann.key in create_only
    assert azure.LOAD_BALANCER_INTERNAL.key not in create_only  # upstream moves the frontend in place
    # upstream GCP rebuilds the load balancer on these (the IP changes) and so does the GCP adapter:
    # the controller's "cannot take effect until re-created" warning would be false for them
    for ann in (gcp.LOAD_BALANCER_TYPE, gcp.NETWORK_TIER, gcp.INTERNAL_LOAD_BALANCER_SUBNET):
        assert ann.key not in create_only
    assert aws.HEALTHCHECK_INTERVAL.key not in create_only


# --- provider scope -------------------------------------------------------------------------


def test_for_provider_includes_common_and_own_only():
    keys = {a.key for a in registry.for_provider("gcp")}
    assert common.LOAD_BALANCER_SOURCE_RANGES.key in keys
    assert gcp.NETWORK_TIER.key in keys
    assert aws.TYPE.key not in keys


def test_proxy_protocol_applies_to_aws_and_local():
    local = registry.for_provider("local")
    assert {a.key for a in local} == {aws.PROXY_PROTOCOL.key, common.LOAD_BALANCER_SOURCE_RANGES.key}
    assert registry.parse("local", {aws.PROXY_PROTOCOL.key: "*"}).values == {aws.PROXY_PROTOCOL.key: "*"}


def test_parse_ignores_other_providers_keys():
    parsed = registry.parse("gcp", {aws.HEALTHCHECK_INTERVAL.key: "3", azure.PIP_NAME.key: ""})
    assert parsed.ok and parsed.values == {} and parsed.warnings == ()


def test_common_annotation_applies_to_an_unknown_provider():
    parsed = registry.parse("fake", {common.SOURCE_RANGES.key: "10.1.2.3/8"})
    assert parsed.values == {common.SOURCE_RANGES.key: ("10.0.0.0/8",)}


# --- parse ----------------------------------------------------------------------------------


def test_error_message_names_key_value_and_what_is_accepted():
    parsed = registry.parse("aws", {aws.HEALTHCHECK_INTERVAL.key: "3"})
    assert not parsed.ok
    assert [str(e) for e in parsed.errors] == [
        'annotation service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval="3" is invalid: '
        "must be an integer between 5 and 300"]
    assert parsed.values == {}


def test_parse_collects_every_error_and_keeps_valid_values():
    parsed = registry.parse("aws", {
        aws.ACCESS_LOG_ENABLED.key: "yes",
        aws.PROXY_PROTOCOL.key: "true",
        aws.CONNECTION_IDLE_TIMEOUT.key: "120",
        aws.SSL_PORTS.key: "443, https",
        aws.ADDITIONAL_RESOURCE_TAGS.key: "team=a,cost-center",
    })
    assert {e.key for e in parsed.errors} == {aws.ACCESS_LOG_ENABLED.key, aws.PROXY_PROTOCOL.key}
    assert parsed.values == {
        aws.CONNECTION_IDLE_TIMEOUT.key: 120,
        aws.SSL_PORTS.key: ("443", "https"),
        aws.ADDITIONAL_RESOURCE_TAGS.key: {"team": "a", "cost-center": ""},
    }
    assert parsed.get(aws.CONNECTION_DRAINING_TIMEOUT) == 300  # default for absent keys


def test_values_are_read_only():
    parsed = registry.parse("aws", {aws.INTERNAL.key: "true"})
    with pytest.raises(TypeError):
        parsed.values[aws.INTERNAL.key] = False  # type: ignore[index]


def test_warn_policy_falls_back_to_default_and_says_so():
    parsed = registry.parse("aws", {aws.TYPE.key: "NLB"})
    assert parsed.ok and aws.TYPE.key not in parsed.values
    assert str(parsed.warnings[0]) == (
        'annotation service.beta.kubernetes.io/aws-load-balancer-type="NLB" is invalid: must be one of nlb, '
        "external or nlb-ip; using the default (Classic ELB) as upstream does")


def test_azure_booleans_are_true_only_with_a_warning_for_junk():
    parsed = registry.parse("azure", {
        azure.LOAD_BALANCER_INTERNAL.key: "yes",
        azure.DISABLE_LOAD_BALANCER_FLOATING_IP.key: "TRUE",
    })
    assert parsed.ok
    assert parsed.values == {azure.DISABLE_LOAD_BALANCER_FLOATING_IP.key: True}
    assert parsed.get(azure.LOAD_BALANCER_INTERNAL) is False
    assert [w.key for w in parsed.warnings] == [azure.LOAD_BALANCER_INTERNAL.key]


def test_gcp_network_tier_is_an_error_but_type_falls_back():
    parsed = registry.parse("gcp", {gcp.NETWORK_TIER.key: "Gold", gcp.LOAD_BALANCER_TYPE.key: "External"})
    assert [e.key for e in parsed.errors] == [gcp.NETWORK_TIER.key]
    assert [w.key for w in parsed.warnings] == [gcp.LOAD_BALANCER_TYPE.key]


def test_legacy_source_ranges():
    key = common.LOAD_BALANCER_SOURCE_RANGES.key
    assert registry.parse("aws", {key: " 10.0.0.0/8 ,192.168.1.7/24"}).values[key] == ("10.0.0.0/8", "192.168.1.0/24")
    assert registry.parse("aws", {key: " "}).values[key] == ()  # blank: the controller applies 0.0.0.0/0
    bad = registry.parse("aws", {key: "10.0.0.0/8,all"})
    assert key not in bad.values
    assert str(bad.errors[0]).startswith(f'annotation {key}="10.0.0.0/8,all" is invalid: item "all" must be a CIDR')


def test_near_miss_of_a_declared_key_warns():
    typo = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-intervall"
    parsed = registry.parse("aws", {typo: "10", "example.com/unrelated": "x"})
    assert parsed.ok
    assert [str(w) for w in parsed.warnings] == [
        f'annotation {typo}="10" is not a known annotation; did you mean {aws.HEALTHCHECK_INTERVAL.key}?']


# --- aliases --------------------------------------------------------------------------------


def test_alias_resolves_to_the_canonical_key_with_a_deprecation_warning():
    parsed = registry.parse("gcp", {"cloud.google.com/load-balancer-type": "internal"})
    assert parsed.values == {gcp.LOAD_BALANCER_TYPE.key: "Internal"}
    assert [str(w) for w in parsed.warnings] == [
        'annotation cloud.google.com/load-balancer-type="internal" is deprecated; use '
        "networking.gke.io/load-balancer-type"]


def test_canonical_key_wins_over_a_conflicting_alias():
    parsed = registry.parse("gcp", {
        gcp.LOAD_BALANCER_TYPE.key: "Internal",
        "cloud.google.com/load-balancer-type": "External",
    })
    assert parsed.values == {gcp.LOAD_BALANCER_TYPE.key: "Internal"}
    assert [w.message for w in parsed.warnings] == [f"is ignored because {gcp.LOAD_BALANCER_TYPE.key} is set"]


def test_alias_errors_name_the_key_the_user_wrote():
    legacy = "service.beta.kubernetes.io/alicloud-loadbalancer-bandwidth"
    parsed = registry.parse("alibaba", {legacy: "fast"})
    assert [e.key for e in parsed.errors] == [legacy]
    assert alibaba.BANDWIDTH.key not in parsed.values


# --- cross-field rules ----------------------------------------------------------------------


@pytest.mark.parametrize(("timeout", "interval", "ok"), [("5", "10", True), ("10", "10", False), ("30", "10", False)])
def test_aws_healthcheck_timeout_below_interval(timeout, interval, ok):
    parsed = registry.parse("aws", {aws.HEALTHCHECK_TIMEOUT.key: timeout, aws.HEALTHCHECK_INTERVAL.key: interval})
    assert parsed.ok is ok
    if not ok:
        assert parsed.errors == (AnnotationError(
            aws.HEALTHCHECK_TIMEOUT.key, timeout,
            f"must be less than {aws.HEALTHCHECK_INTERVAL.key} ({interval}): use a timeout below {interval}"),)
        assert parsed.values == {}  # neither half of a rejected pair reaches the adapter


def test_aws_timeout_alone_is_not_checked_against_a_type_dependent_default():
    assert registry.parse("aws", {aws.HEALTHCHECK_TIMEOUT.key: "30"}).ok


def test_aws_cross_check_skipped_when_one_side_is_invalid():
    parsed = registry.parse("aws", {aws.HEALTHCHECK_TIMEOUT.key: "30", aws.HEALTHCHECK_INTERVAL.key: "1"})
    assert [e.key for e in parsed.errors] == [aws.HEALTHCHECK_INTERVAL.key]


def test_azure_probe_window_uses_defaults_for_the_absent_side():
    num = azure.LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE.key
    interval = azure.LOAD_BALANCER_HEALTH_PROBE_INTERVAL.key
    assert registry.parse("azure", {num: "23"}).ok  # 5 x 23 = 115
    parsed = registry.parse("azure", {num: "24"})  # 5 x 24 = 120
    assert [str(e) for e in parsed.errors] == [
        f'annotation {num}="24" is invalid: health-probe interval x num-of-probe (5 x 24) must be less than '
        "120 seconds"]
    assert not registry.parse("azure", {interval: "60", num: "2"}).ok


# --- create-only changes --------------------------------------------------------------------


def test_create_only_changes_added_removed_changed():
    nlb = {aws.TYPE.key: "nlb"}
    assert registry.create_only_changes("aws", {}, nlb) == (aws.TYPE.key,)
    assert registry.create_only_changes("aws", nlb, {}) == (aws.TYPE.key,)
    assert registry.create_only_changes("aws", nlb, {aws.TYPE.key: "external"}) == (aws.TYPE.key,)
    assert registry.create_only_changes("aws", nlb, dict(nlb)) == ()


def test_create_only_changes_compare_parsed_values():
    # "false" is the default: adding it changes nothing; "true" and "yes" both mean internal
    assert registry.create_only_changes("aws", {}, {aws.INTERNAL.key: "false"}) == ()
    assert registry.create_only_changes("aws", {aws.INTERNAL.key: "true"}, {aws.INTERNAL.key: "yes"}) == ()
    subnets = aws.SUBNETS.key
    assert registry.create_only_changes("aws", {subnets: "subnet-a,subnet-b"}, {subnets: " subnet-a , subnet-b"}) == ()
    assert registry.create_only_changes("aws", {subnets: "subnet-a"}, {subnets: "subnet-a,subnet-b"}) == (subnets,)


def test_create_only_changes_ignore_updatable_and_foreign_keys():
    old = {aws.HEALTHCHECK_INTERVAL.key: "10", alibaba.ADDRESS_TYPE.key: "internet"}
    new = {aws.HEALTHCHECK_INTERVAL.key: "30", alibaba.ADDRESS_TYPE.key: "intranet"}
    assert registry.create_only_changes("aws", old, new) == ()
    assert registry.create_only_changes("alibaba", old, new) == (alibaba.ADDRESS_TYPE.key,)


def test_create_only_changes_resolve_aliases_and_warn_fallbacks():
    canonical, alias = alibaba.ADDRESS_TYPE.key, alibaba.ADDRESS_TYPE.aliases[0]
    assert registry.create_only_changes("alibaba", {alias: "intranet"}, {canonical: "intranet"}) == ()
    assert registry.create_only_changes("alibaba", {alias: "intranet"}, {canonical: "internet"}) == (canonical,)
    # a value equal to the default is the same as no annotation
    assert registry.create_only_changes("alibaba", {}, {canonical: "internet"}) == ()
    assert registry.create_only_changes("aws", {}, {aws.TYPE.key: "clb"}) == ()


def test_create_only_change_to_an_invalid_value_is_a_change():
    kind = alibaba.ADDRESS_TYPE.key
    assert registry.create_only_changes("alibaba", {kind: "intranet"}, {kind: "Intranet"}) == (kind,)


def test_openstack_create_only():
    lb_id = openstack.LOAD_BALANCER_ID.key
    before = {lb_id: "6f1b5b3c-2d1e-4a7b-9c3d-0123456789ab"}
    assert registry.create_only_changes("openstack", before, {}) == (lb_id,)


# --- templated (per-port) keys --------------------------------------------------------------


def test_per_port_keys_parse_under_their_real_key():
    proto80 = azure.PORT_HEALTH_PROBE_PROTOCOL.key_for(port=80)
    assert proto80 == "service.beta.kubernetes.io/port_80_health-probe_protocol"
    port443 = azure.PORT_HEALTH_PROBE_PORT.key_for(port=443)
    parsed = registry.parse("azure", {proto80: "http", port443: "https", "service.beta.kubernetes.io/port_0_no_lb_rule": "true"})
    assert parsed.ok
    assert parsed.values == {proto80: "Http", port443: "https"}
    assert registry.get(proto80) is azure.PORT_HEALTH_PROBE_PROTOCOL
    assert registry.get("service.beta.kubernetes.io/port_0_no_lb_rule") is None


def test_per_port_errors_name_the_real_key():
    interval = azure.PORT_HEALTH_PROBE_INTERVAL.key_for(port=8080)
    parsed = registry.parse("azure", {interval: "2"})
    assert [str(e) for e in parsed.errors] == [f'annotation {interval}="2" is invalid: must be an integer >= 5']


def test_lbc_listener_attributes_template():
    key = aws.LISTENER_ATTRIBUTES.key_for(protocol="TCP", port=80)
    parsed = registry.parse("aws", {key: "tcp.idle_timeout.seconds=350"})
    assert parsed.values == {key: {"tcp.idle_timeout.seconds": "350"}}
    assert registry.get(key) is aws.LISTENER_ATTRIBUTES


def test_templated_keys_cannot_be_create_only():
    with pytest.raises(ValueError, match="templated key"):
        Annotation("example.com/port_{port}", Str(), None, frozenset({"aws"}), True, "Not allowed here.")
