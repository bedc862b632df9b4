"""The cloud-node controller's pure rules: kubelet's node IP, address change detection, labels."""

from __future__ import annotations

import pytest

from ccm.controllers.node import labels as lb
from ccm.controllers.node.addresses import (
    NodeIPError,
    addresses_changed,
    addresses_from_node_ip,
    desired_addresses,
    parse_node_ip_annotation,
)
from ccm.controllers.node.initialize import InitError, check_provider_id, initialized
from ccm.controllers.nodeutil import TAINT_UNINITIALIZED
from providers.instances import InstanceMetadata, NodeAddress

CLOUD = [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "InternalIP", "address": "10.0.0.2"},
         {"type": "ExternalIP", "address": "203.0.113.1"}, {"type": "InternalIP", "address": "fd00::1"},
         {"type": "Hostname", "address": "ip-10-0-0-1"}]


def test_node_ip_wins_its_type():
    assert addresses_from_node_ip("10.0.0.2", CLOUD) == [
        {"type": "InternalIP", "address": "10.0.0.2"}, {"type": "ExternalIP", "address": "203.0.113.1"},
        {"type": "Hostname", "address": "ip-10-0-0-1"}]
    dual = addresses_from_node_ip("10.0.0.1,fd00::1", CLOUD)
    assert [a["address"] for a in dual][:2] == ["10.0.0.1", "fd00::1"]
    unspecified = addresses_from_node_ip("::", CLOUD)
    assert unspecified[0]["address"] == "fd00::1" and len(unspecified) == len(CLOUD)


@pytest.mark.parametrize("value", ["10.9.9.9", "nonsense", "10.0.0.1,10.0.0.2", "0.0.0.0,fd00::1"])
def test_bad_node_ips(value):
    with pytest.raises(NodeIPError):
        addresses_from_node_ip(value, CLOUD)


def test_parse_node_ip_annotation():
    assert [str(ip) for ip in parse_node_ip_annotation("10.0.0.1, fd00::1")] == ["10.0.0.1", "fd00::1"]


def test_change_detection_compares_the_ordered_list():
    a = [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "InternalIP", "address": "10.0.0.2"}]
    assert not addresses_changed(a, [dict(x) for x in a])  # upstream would patch this node every period
    assert addresses_changed(a, list(reversed(a)))  # the first InternalIP is the one consumers pick
    assert addresses_changed(a, a[:1])
    assert addresses_changed(a, [a[0], {"type": "InternalIP", "address": "10.0.0.3"}])


def test_desired_addresses_keep_kubelets_hostname():
    node = {"status": {"addresses": [{"type": "Hostname", "address": "kubelet"}]}}
    assert desired_addresses(node, []) is None
    assert desired_addresses(node, CLOUD[:1]) == [CLOUD[0], {"type": "Hostname", "address": "kubelet"}]
    assert desired_addresses(node, CLOUD) == CLOUD  # the cloud names a Hostname: kubelet's is dropped


def test_labels():
    assert lb.labels_to_reconcile({lb.ZONE_BETA: "a", lb.ZONE: "b", lb.REGION_BETA: "r", lb.REGION: "r"}) == {
        lb.ZONE: "a"}
    extra, warnings = lb.additional_labels({"k8s.io/x": "1", "a.kubernetes.io/y": "2", "mine": "3", "keep": "4"},
                                           {"keep": "old"})
    assert extra == {"mine": "3"} and len(warnings) == 3


def test_initialisation_is_idempotent_and_needs_a_provider_id():
    node = {"metadata": {"name": "n", "labels": {}}, "spec": {"taints": [{"key": TAINT_UNINITIALIZED},
                                                                        {"key": "other"}]}}
    meta = InstanceMetadata("cloud://n", "big", (NodeAddress("InternalIP", "10.0.0.1"),), "z", "r")
    once, _ = initialized(node, meta)
    twice, _ = initialized(once, meta)
    assert once == twice and once["spec"]["taints"] == [{"key": "other"}] and node["spec"]["taints"][0]
    assert once["spec"]["providerID"] == "cloud://n"
    kept, _ = initialized({**once, "spec": {**once["spec"], "providerID": "kubelet://n"}}, meta)
    assert kept["spec"]["providerID"] == "kubelet://n"  # never changed once set
    with pytest.raises(InitError, match="does not set node provider ID"):
        check_provider_id(InstanceMetadata(""), node)
    with pytest.raises(InitError, match="provided node ip for node 'n' is not valid"):
        initialized({**node, "metadata": {"name": "n", "annotations": {
            "alpha.kubernetes.io/provided-node-ip": "10.9.9.9"}}}, meta)
