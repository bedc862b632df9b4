"""End to end node sync (§2): which node changes trigger host updates, and with which nodes."""

from __future__ import annotations

from ccm.controllers.service.predicates import LABEL_EXCLUDE_BALANCERS, TO_BE_DELETED_TAINT
from tests.util import wait_for


def hosts(cloud, key="default/web"):
    calls = [c for c in cloud.lb.calls if c.key == key and c.operation in ("ensure", "update")]
    return calls[-1].node_names if calls else None


def test_node_add_exclude_provider_id_and_delete(kube, cloud, start_manager):
    kube.node("n1")
    kube.node("excluded", labels={LABEL_EXCLUDE_BALANCERS: "true"})
    kube.node("kept", labels={LABEL_EXCLUDE_BALANCERS: "false"})
    start_manager(cloud)
    kube.service("web")
    kube.wait_ip("web")
    assert hosts(cloud) == {"n1", "kept"}

    kube.node("n2")
    wait_for(lambda: hosts(cloud) == {"n1", "kept", "n2"})
    kube.wait_event("web", "UpdatedLoadBalancer")
    assert cloud.lb.calls_of("update")[-1].operation == "update"

    kube.core.patch_node("n1", {"metadata": {"labels": {LABEL_EXCLUDE_BALANCERS: "True"}}})
    wait_for(lambda: hosts(cloud) == {"kept", "n2"})

    n = len(cloud.lb.calls_of("update"))
    kube.core.patch_node("n2", {"spec": {"providerID": "fake://n2"}})
    wait_for(lambda: len(cloud.lb.calls_of("update")) == n + 1)
    assert {x.provider_id for x in cloud.lb.calls_of("update")[-1].request.nodes} == {"", "fake://n2"}

    kube.core.delete_node("kept")
    wait_for(lambda: hosts(cloud) == {"n2"})


def test_taint_and_readiness_do_not_trigger_but_are_filtered(kube, cloud, start_manager):
    kube.node("n1")
    kube.node("n2")
    start_manager(cloud)
    kube.service("web")
    kube.wait_ip("web")
    kube.core.patch_node("n2", {"spec": {"taints": [{"key": TO_BE_DELETED_TAINT, "effect": "NoSchedule"}]}})
    kube.core.patch_node_status("n1", {"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    kube.node("n3")  # a real trigger: the tainted node is filtered out then, the NotReady one is kept
    wait_for(lambda: hosts(cloud) == {"n1", "n3"})
    assert len(cloud.lb.calls_of("update")) == 1


def test_failed_host_update_resyncs_the_service(kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud)
    kube.service("web")
    kube.wait_ip("web")
    cloud.lb.fail("update", RuntimeError("throttled"))
    kube.node("n2")
    evs = kube.wait_event("web", "UpdateLoadBalancerFailed")
    assert ("Warning UpdateLoadBalancerFailed Error updating load balancer with new hosts [n1 n2] "
            "[node names limited, total number of nodes: 2], error: throttled") in evs
    # the service queue re-ensures with the current node set
    wait_for(lambda: cloud.lb.calls[-1].operation == "ensure" and hosts(cloud) == {"n1", "n2"})


def test_slow_node_sync_never_pushes_stale_hosts(kube, cloud, start_manager):
    """Upstream TestSlowNodeSync over the wire: a node sync stuck in a's update must not push its
    older view to b after b's own ensure already sent the newer node set."""
    kube.node("n1")
    mgr = start_manager(cloud)
    kube.service("a")
    kube.service("b")
    kube.wait_ip("a")
    kube.wait_ip("b")
    gate = cloud.lb.hold("update", key="default/a")
    kube.node("n2")
    assert gate.entered.wait(10)
    kube.node("n3")
    wait_for(lambda: mgr.nodes.store.get("n3"), message="the controller's cache to hold n3")
    kube.patch("b", {"metadata": {"annotations": {"bump": "1"}}})
    wait_for(lambda: hosts(cloud, "default/b") == {"n1", "n2", "n3"}, message="b ensured with n3")
    gate.release()
    # the second node sync (queued by n3) settles everything; b never regresses
    wait_for(lambda: hosts(cloud, "default/a") == {"n1", "n2", "n3"})
    b_sets = [c.node_names for c in cloud.lb.calls if c.key == "default/b" and c.operation in ("ensure", "update")]
    first_full = b_sets.index(frozenset({"n1", "n2", "n3"}))
    assert all(s == {"n1", "n2", "n3"} for s in b_sets[first_full:])
