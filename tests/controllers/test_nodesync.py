"""Node sync in isolation (§2.3-§2.4): per-Service node listing, lastSyncedNodes, errors, events."""

from __future__ import annotations

import threading

from ccm.controllers.service import metrics
from ccm.controllers.service.nodesync import NodeSyncer
from providers.port import ImplementedElsewhere, ProviderWarning
from tests.controllers.test_sync import RecordingPatcher, make, svc


def node(name):
    return {"metadata": {"name": name}, "spec": {}}


def setup(services=("a",), workers=1):
    nodes = [node("n1")]
    lb, rec, syncer = make(nodes=nodes)
    syncer.patcher = RecordingPatcher()
    for name in services:
        syncer.process_service_create_or_update(svc(name=name, uid=f"uid-{name}"), f"default/{name}")
    rec.clear()
    ns = NodeSyncer(syncer, workers=workers)
    return nodes, lb, rec, ns


def test_node_added_updates_hosts_once():
    nodes, lb, rec, ns = setup(("a", "b"), workers=2)
    try:
        nodes.append(node("n2"))
        before = metrics.LOADBALANCER_SYNC._value.get()
        assert ns.sync_nodes() == set()
        updates = lb.calls_of("update")
        assert sorted(c.key for c in updates) == ["default/a", "default/b"]
        assert all(c.node_names == {"n1", "n2"} for c in updates)
        assert updates[0].request.nodes is updates[1].request.nodes  # converted once for the pass
        assert rec.events == ["Normal UpdatedLoadBalancer Updated load balancer with new hosts"] * 2
        assert metrics.LOADBALANCER_SYNC._value.get() == before + 2
        assert ns.sync_nodes() == set() and len(lb.calls_of("update")) == 2  # sufficiently equal: no call
    finally:
        ns.close()


def test_update_failure_event_and_retry_without_repeating():
    nodes, lb, rec, ns = setup()
    nodes.append(node("n2"))
    lb.fail("update", RuntimeError("throttled"))
    errors_before = metrics.NODESYNC_ERRORS._value.get()
    assert ns.sync_nodes() == {"default/a"}
    assert rec.events == ["Warning UpdateLoadBalancerFailed Error updating load balancer with new hosts [n1 n2] "
                          "[node names limited, total number of nodes: 2], error: throttled"]
    assert metrics.NODESYNC_ERRORS._value.get() == errors_before + 1
    # lastSyncedNodes already moved: the next pass does not retry the update (the service queue does)
    assert ns.sync_nodes() == set() and len(lb.calls_of("update")) == 1


def test_update_failure_when_lb_gone_is_success():
    nodes, lb, rec, ns = setup()
    lb.remove_out_of_band("uid-a")
    nodes.append(node("n2"))
    lb.fail("update", RuntimeError("not found"))
    assert ns.sync_nodes() == set() and rec.events == []
    assert [c.operation for c in lb.calls[-2:]] == ["update", "get"]


def test_implemented_elsewhere_and_no_hosts():
    nodes, lb, rec, ns = setup()
    nodes.append(node("n2"))
    lb.fail("update", ImplementedElsewhere())
    assert ns.sync_nodes() == set() and rec.events == []
    nodes.clear()
    assert ns.sync_nodes() == set()
    assert rec.events == ["Warning UnAvailableLoadBalancer There are no available nodes for LoadBalancer"]


def test_slow_node_sync_never_pushes_stale_hosts():
    """Upstream TestSlowNodeSync: while a node sync is stuck in one Service's update, a newer node
    set reaches another Service through its ensure; the stuck pass must not overwrite it."""
    nodes, lb, _rec, ns = setup(("a", "b"))
    nodes.append(node("n2"))
    gate = lb.hold("update", key="default/a")
    t = threading.Thread(target=ns.sync_nodes)
    t.start()
    assert gate.entered.wait(5)
    nodes.append(node("n3"))  # newer set, seen by the service worker's ensure of b
    ns.syncer.process_service_create_or_update(svc(name="b", uid="uid-b", annotations={"x": "y"}), "default/b")
    gate.release()
    t.join(5)
    b_calls = [c for c in lb.calls if c.key == "default/b" and c.operation in ("ensure", "update")]
    assert b_calls[-1].node_names == {"n1", "n2", "n3"}
    assert lb.stored("uid-b").nodes[-1].name == "n3"


def test_provider_warnings_from_update_become_events():
    nodes, lb, rec, ns = setup()
    lb.warn("update", ProviderWarning("TargetLimit", "only 1 of 2 targets registered"))
    nodes.append(node("n2"))
    assert ns.sync_nodes() == set()
    assert rec.events == ["Normal UpdatedLoadBalancer Updated load balancer with new hosts",
                          "Warning TargetLimit only 1 of 2 targets registered"]


def test_invalid_annotations_skip_host_update():
    nodes, lb, rec, ns = setup()
    ns.syncer.annotation_provider = "aws"
    cached = ns.cache.get("default/a")
    bad = {**cached, "metadata": {**cached["metadata"], "annotations": {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "3"}}}
    ns.cache.set("default/a", bad)
    nodes.append(node("n2"))
    assert ns.sync_nodes() == set() and lb.calls_of("update") == [] and rec.events == []
