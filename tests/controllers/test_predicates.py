"""Node and Service predicates against upstream's lists (§1.2-§1.4, §2.1-§2.3)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from ccm.controllers.service import predicates as pr


def svc(**spec):
    base: dict = {
        "metadata": {"name": "s", "namespace": "default", "uid": "u1"},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                                    "nodePort": 30080, "targetPort": 8080}]},
    }
    base["spec"].update(spec)
    return base


def node(name="n1", labels=None, taints=None, deleting=False, provider_id=None):
    n = {"metadata": {"name": name, "labels": labels or {}}, "spec": {}}
    if taints:
        n["spec"]["taints"] = taints
    if deleting:
        n["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if provider_id:
        n["spec"]["providerID"] = provider_id
    return n


GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"]
GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"]


@pytest.mark.parametrize("value", GO_TRUE)
def test_parse_bool_true(value):
    assert pr.parse_bool(value) is True


@pytest.mark.parametrize("value", GO_FALSE)
def test_parse_bool_false(value):
    assert pr.parse_bool(value) is False


@given(hs.text(max_size=8).filter(lambda s: s not in GO_TRUE + GO_FALSE))
def test_parse_bool_rejects_everything_else(value):
    with pytest.raises(ValueError):
        pr.parse_bool(value)


@pytest.mark.parametrize(("labels", "included"), [
    pytest.param({}, True, id="no-label"),
    pytest.param({pr.LABEL_EXCLUDE_BALANCERS: "true"}, False, id="true"),
    pytest.param({pr.LABEL_EXCLUDE_BALANCERS: "false"}, True, id="false-includes"),
    pytest.param({pr.LABEL_EXCLUDE_BALANCERS: "0"}, True, id="zero-includes"),
    pytest.param({pr.LABEL_EXCLUDE_BALANCERS: ""}, False, id="empty-excludes"),
    pytest.param({pr.LABEL_EXCLUDE_BALANCERS: "yes"}, False, id="unparseable-excludes"),
])
def test_node_included(labels, included):
    assert pr.node_included(node(labels=labels)) is included


def test_stable_node_set_ignores_readiness_but_not_taint_or_deletion():
    ready_false = node()
    ready_false["status"] = {"conditions": [{"type": "Ready", "status": "False"}]}
    assert pr.stable_node_set(ready_false)
    assert not pr.stable_node_set(node(taints=[{"key": pr.TO_BE_DELETED_TAINT, "effect": "NoSchedule"}]))
    assert pr.stable_node_set(node(taints=[{"key": "other", "effect": "NoSchedule"}]))
    assert not pr.stable_node_set(node(deleting=True))
    unschedulable = node()
    unschedulable["spec"]["unschedulable"] = True
    assert pr.stable_node_set(unschedulable)


def test_should_sync_updated_node():
    n = node()
    assert not pr.should_sync_updated_node(n, copy.deepcopy(n))
    assert pr.should_sync_updated_node(n, node(labels={pr.LABEL_EXCLUDE_BALANCERS: "true"}))
    # "false" keeps it included: no effective flip
    assert not pr.should_sync_updated_node(n, node(labels={pr.LABEL_EXCLUDE_BALANCERS: "false"}))
    assert pr.should_sync_updated_node(n, node(provider_id="fake://n1"))
    # taint, readiness, deletion do not trigger a sync
    assert not pr.should_sync_updated_node(n, node(taints=[{"key": pr.TO_BE_DELETED_TAINT}]))
    assert not pr.should_sync_updated_node(n, node(deleting=True))
    other = node(labels={"x": "y"})
    other["status"] = {"conditions": [{"type": "Ready", "status": "False"}]}
    assert not pr.should_sync_updated_node(n, other)


def test_loggable_node_names():
    assert pr.loggable_node_names([node("b"), node("a")]) == "[a b]"
    many = [node(f"n{i:02d}") for i in range(25)]
    text = pr.loggable_node_names(many)
    assert text.startswith("[n00 n01") and text.endswith("n19 <5 more>]")


def test_wants_and_cleanup_with_classes():
    mine = pr.ClassFilter("example.com/lb")
    assert pr.wants_load_balancer(svc())
    assert not pr.wants_load_balancer(svc(type="NodePort"))
    assert not pr.wants_load_balancer(svc(loadBalancerClass="example.com/lb"))
    assert pr.wants_load_balancer(svc(loadBalancerClass="example.com/lb"), mine)
    assert pr.wants_load_balancer(svc(), mine)
    assert not pr.wants_load_balancer(svc(), pr.ClassFilter("example.com/lb", ignore_unclassed=True))
    assert not pr.wants_load_balancer(svc(loadBalancerClass="other"), mine)

    s = svc()
    assert not pr.needs_cleanup(s)
    s["metadata"]["finalizers"] = [pr.LOAD_BALANCER_CLEANUP_FINALIZER]
    assert not pr.needs_cleanup(s)
    s["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pr.needs_cleanup(s)
    cluster_ip = svc(type="ClusterIP")
    cluster_ip["metadata"]["finalizers"] = [pr.LOAD_BALANCER_CLEANUP_FINALIZER]
    assert pr.needs_cleanup(cluster_ip)
    foreign = svc(loadBalancerClass="other")
    foreign["metadata"].update(finalizers=[pr.LOAD_BALANCER_CLEANUP_FINALIZER],
                               deletionTimestamp="2026-01-01T00:00:00Z")
    assert not pr.needs_cleanup(foreign)  # improvement: never touch another class


def _changed(path, value):
    old = svc(sessionAffinity="None", externalTrafficPolicy="Cluster", ipFamilies=["IPv4"])
    new = copy.deepcopy(old)
    target = new
    for p in path[:-1]:
        target = target.setdefault(p, {}) if isinstance(p, str) else target[p]
    target[path[-1]] = value
    return old, new


@pytest.mark.parametrize(("path", "value"), [
    pytest.param(("spec", "type"), "ClusterIP", id="type"),
    pytest.param(("spec", "loadBalancerSourceRanges"), ["10.0.0.0/8"], id="source-ranges"),
    pytest.param(("spec", "ports", 0, "port"), 81, id="port"),
    pytest.param(("spec", "ports", 0, "nodePort"), 30081, id="node-port"),
    pytest.param(("spec", "ports", 0, "name"), "web", id="port-name"),
    pytest.param(("spec", "ports", 0, "protocol"), "UDP", id="protocol"),
    pytest.param(("spec", "ports", 0, "targetPort"), "8080", id="target-port-kind"),
    pytest.param(("spec", "ports", 0, "appProtocol"), "http", id="app-protocol"),
    pytest.param(("spec", "sessionAffinity"), "ClientIP", id="affinity"),
    pytest.param(("spec", "sessionAffinityConfig"), {"clientIP": {"timeoutSeconds": 10}}, id="affinity-config"),
    pytest.param(("spec", "loadBalancerIP"), "1.2.3.4", id="lb-ip"),
    pytest.param(("spec", "externalIPs"), ["1.2.3.4"], id="external-ips"),
    pytest.param(("metadata", "annotations"), {"any": "thing"}, id="annotations"),
    pytest.param(("metadata", "uid"), "u2", id="uid"),
    pytest.param(("spec", "externalTrafficPolicy"), "Local", id="etp"),
    pytest.param(("spec", "healthCheckNodePort"), 32000, id="hc-node-port"),
    pytest.param(("spec", "ipFamilies"), ["IPv4", "IPv6"], id="ip-family-count"),
])
def test_needs_update_triggers(path, value):
    old, new = _changed(path, value)
    assert pr.needs_update(old, new)


@pytest.mark.parametrize(("path", "value"), [
    pytest.param(("metadata", "labels"), {"a": "b"}, id="labels"),
    pytest.param(("spec", "selector"), {"app": "x"}, id="selector"),
    pytest.param(("spec", "clusterIP"), "10.96.0.9", id="cluster-ip"),
    pytest.param(("spec", "ipFamilyPolicy"), "PreferDualStack", id="ip-family-policy"),
    pytest.param(("spec", "internalTrafficPolicy"), "Local", id="itp"),
    pytest.param(("spec", "allocateLoadBalancerNodePorts"), False, id="alloc-node-ports"),
    pytest.param(("spec", "publishNotReadyAddresses"), True, id="publish-not-ready"),
    pytest.param(("metadata", "finalizers"), ["x"], id="finalizers"),
    pytest.param(("metadata", "deletionTimestamp"), "2026-01-01T00:00:00Z", id="deletion"),
    pytest.param(("status", "loadBalancer"), {}, id="status"),
    pytest.param(("spec", "ipFamilies"), ["IPv6"], id="ip-family-value-same-count"),
])
def test_needs_update_negatives(path, value):
    old, new = _changed(path, value)
    assert not pr.needs_update(old, new)


def test_needs_update_neither_wants():
    old, new = svc(type="ClusterIP"), svc(type="ClusterIP", loadBalancerIP="1.1.1.1")
    assert not pr.needs_update(old, new)
    # a class change (not ours -> ours) flips wantsLoadBalancer
    assert pr.needs_update(svc(loadBalancerClass="x"), svc())
