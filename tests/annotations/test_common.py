"""The neutral notions beside their declarations: one source-range resolver, the PROXY-protocol mapping."""

from __future__ import annotations

import pytest

from ccm.annotations import aws, common, openstack
from ccm.annotations.common import (
    InvalidSourceRanges,
    proxy_protocol_in,
    proxy_protocol_requested,
    resolve_source_ranges,
)
from ccm.annotations.registry import parse


@pytest.mark.parametrize(("spec", "annotation", "cidrs", "explicit"), [
    pytest.param(None, None, ("0.0.0.0/0",), False, id="default"),
    pytest.param([], "  ", ("0.0.0.0/0",), False, id="blank-annotation-is-unset"),
    pytest.param([" 10.0.0.1/8 ", "10.0.0.0/8"], None, ("10.0.0.0/8",), True, id="spec-trimmed-sloppy-deduplicated"),
    pytest.param(["10.0.0.0/8"], "192.168.0.0/16", ("10.0.0.0/8",), True, id="spec-wins"),
    pytest.param(None, "192.168.0.0/16, 2001:db8::1/32", ("192.168.0.0/16", "2001:db8::/32"), True, id="annotation"),
])
def test_resolve_source_ranges(spec, annotation, cidrs, explicit):
    resolved = resolve_source_ranges(spec, annotation)
    assert (resolved.cidrs, resolved.explicit) == (cidrs, explicit)


def test_source_range_errors_are_upstreams_words():
    with pytest.raises(InvalidSourceRanges) as spec_error:
        resolve_source_ranges(["10.0.0.0/8", "10.0.0.1"], None)  # a bare address is not a CIDR (ParseCIDRSloppy)
    assert str(spec_error.value) == (
        "service.Spec.LoadBalancerSourceRanges: [10.0.0.0/8 10.0.0.1] is not valid. Expecting a list of IP ranges. "
        "For example, 10.0.0.0/24. Error msg: invalid CIDR address: 10.0.0.1")
    with pytest.raises(InvalidSourceRanges) as annotation_error:
        resolve_source_ranges(None, " 10.0.0.0/8,bad ")
    assert str(annotation_error.value) == (
        f"{common.LOAD_BALANCER_SOURCE_RANGES.key}: 10.0.0.0/8,bad is not valid. Expecting a comma-separated list "
        "of source IP ranges. For example, 10.0.0.0/24,192.168.2.0/24")
    assert annotation_error.value.reason == "InvalidLoadBalancerSourceRanges"


def test_proxy_protocol_is_a_neutral_notion_each_cloud_maps_to():
    keys = {k.annotation.key for k in common.proxy_protocol_keys()}
    assert aws.PROXY_PROTOCOL.key in keys
    assert proxy_protocol_in({aws.PROXY_PROTOCOL.key: "*"})
    assert not proxy_protocol_in({})
    with pytest.raises(ValueError, match=f'{aws.PROXY_PROTOCOL.key}="yes" is invalid'):
        proxy_protocol_in({aws.PROXY_PROTOCOL.key: "yes"})
    assert proxy_protocol_requested(parse("local", {aws.PROXY_PROTOCOL.key: "*"}).values)
    assert not proxy_protocol_requested(parse("local", {}).values)
    assert openstack.PROXY_PROTOCOL.key in keys  # Octavia's PROXY / PROXYV2 pools
    assert all(proxy_protocol_in({openstack.PROXY_PROTOCOL.key: v}) for v in ("true", "v1", "v2"))
