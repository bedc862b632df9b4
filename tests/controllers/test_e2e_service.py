"""End to end (§1, §4): the embedded API server over HTTP, the official client, the fake cloud."""

from __future__ import annotations

from ccm.controllers.service.predicates import LOAD_BALANCER_CLEANUP_FINALIZER as F
from providers.fake import FakeCloud
from providers.port import ImplementedElsewhere, RetryError, UserError
from tests.util import wait_for


def test_create_converges_with_finalizer_status_and_events(apiserver, kube, cloud, start_manager):
    kube.node("n1")
    kube.node("n2")
    start_manager(cloud)
    writes = apiserver.write_count()
    kube.service("web")
    ip = kube.wait_ip("web")
    svc = kube.get("web")
    assert ip.startswith("192.0.2.") and svc.metadata.finalizers == [F]
    ing = svc.status.load_balancer.ingress[0]
    assert ing.ip_mode == "VIP" and [(p.port, p.protocol) for p in ing.ports] == [(80, "TCP")]
    assert kube.wait_event("web", "EnsuredLoadBalancer")[:2] == [
        "Normal EnsuringLoadBalancer Ensuring load balancer", "Normal EnsuredLoadBalancer Ensured load balancer"]
    [call] = cloud.lb.calls_of("ensure")
    assert call.node_names == {"n1", "n2"} and call.request.cluster_name == "kubernetes"
    # 1 create + finalizer patch + status patch + 2 events
    wait_for(lambda: apiserver.write_count() - writes == 5, message=lambda: f"{apiserver.write_count() - writes} writes")


def test_spec_change_reensures_and_status_ports_follow(kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud)
    kube.service("web")
    kube.wait_ip("web")
    kube.patch("web", [{"op": "replace", "path": "/spec/ports/0/port", "value": 443}])
    wait_for(lambda: [p.port for p in kube.get("web").status.load_balancer.ingress[0].ports] == [443])
    assert len(cloud.lb.calls_of("ensure")) == 2
    assert not cloud.lb.calls_of("update")  # spec changes never go through UpdateLoadBalancer


def seen(mgr, key, check):
    """Wait until the manager's informer holds a version of ``key`` passing ``check`` and its queue is idle."""
    wait_for(lambda: (obj := mgr.services.store.get(key)) is not None and check(obj)
             and len(mgr.controller.queue) == 0, message=f"informer to see {key}")


def test_non_trigger_changes_do_not_reensure(kube, cloud, start_manager):
    kube.node("n1")
    mgr = start_manager(cloud)
    kube.service("web")
    kube.wait_ip("web")
    kube.patch("web", {"metadata": {"labels": {"team": "a"}}, "spec": {"selector": {"app": "other"}}})
    seen(mgr, "default/web", lambda o: o["metadata"].get("labels") == {"team": "a"})
    kube.patch("web", {"metadata": {"annotations": {"touch": "1"}}})  # a trigger, as a fence
    wait_for(lambda: len(cloud.lb.calls_of("ensure")) == 2)
    assert len(cloud.lb.calls_of("ensure")) == 2


def test_delete_runs_cleanup_and_releases_finalizer(kube, cloud, start_manager):
    kube.node("n1")
    mgr = start_manager(cloud)
    uid = kube.service("web").metadata.uid
    kube.wait_ip("web")
    assert "default/web" in mgr.controller.last_synced
    kube.delete("web")
    wait_for(lambda: not kube.exists("web"), message="service gone")
    assert not cloud.lb.exists(uid)
    assert [c.operation for c in cloud.lb.calls] == ["ensure", "get", "delete"]
    # improvement: the per-Service node memory goes with the Service (upstream leaks it)
    wait_for(lambda: "default/web" not in mgr.controller.last_synced and mgr.controller.cache.get("default/web") is None,
             message="lastSyncedNodes and the serviceCache to forget default/web")


def test_port_errors_from_the_cloud_reach_status(kube, start_manager):
    kube.node("n1")
    cloud = FakeCloud(port_error=lambda p: "UnsupportedProtocol" if p.protocol == "UDP" else None)
    start_manager(cloud)
    kube.service("dns", ports=[{"name": "tcp", "port": 53, "protocol": "TCP"},
                               {"name": "udp", "port": 53, "protocol": "UDP"}])
    kube.wait_ip("dns")
    ports = kube.get("dns").status.load_balancer.ingress[0].ports
    assert [(p.port, p.protocol, p.error) for p in ports] == [(53, "TCP", None), (53, "UDP", "UnsupportedProtocol")]


def test_type_change_to_cluster_ip_cleans_up(kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud)
    uid = kube.service("web").metadata.uid
    kube.wait_ip("web")
    kube.patch("web", {"spec": {"type": "ClusterIP"}})
    wait_for(lambda: not kube.get("web").metadata.finalizers and not kube.ingress_ip("web"))
    assert not cloud.lb.exists(uid)
    evs = kube.wait_event("web", "DeletedLoadBalancer")
    assert "Normal DeletingLoadBalancer Deleting load balancer" in evs


def test_retry_error_requeues_after_its_delay(kube, cloud, start_manager):
    kube.node("n1")
    cloud.lb.fail("ensure", RetryError("operation in progress", 0.2), times=2)
    start_manager(cloud)
    kube.service("web")
    kube.wait_ip("web", timeout=5)  # exponential backoff would wait 5 s + 10 s
    assert len(cloud.lb.calls_of("ensure")) == 3
    evs = kube.wait_event("web", "SyncLoadBalancerFailed")
    assert ("Warning SyncLoadBalancerFailed Error syncing load balancer: failed to ensure load balancer: "
            "operation in progress") in evs


def test_implemented_elsewhere_keeps_finalizer_without_status(kube, cloud, start_manager):
    kube.node("n1")
    cloud.lb.fail("ensure", ImplementedElsewhere(), times=None)
    start_manager(cloud)
    kube.service("web")
    wait_for(lambda: kube.get("web").metadata.finalizers == [F])
    wait_for(lambda: cloud.lb.calls_of("ensure"))
    assert kube.ingress_ip("web") is None
    assert not any("EnsuredLoadBalancer" in e for e in kube.events("web"))


def test_user_error_event_with_reason(kube, cloud, start_manager):
    kube.node("n1")
    cloud.lb.fail("ensure", UserError("loadBalancerIP 203.0.113.9 is not available", "InvalidLoadBalancerIP"))
    start_manager(cloud)
    kube.service("web", loadBalancerIP="203.0.113.9")
    evs = kube.wait_event("web", "InvalidLoadBalancerIP")
    assert "Warning InvalidLoadBalancerIP loadBalancerIP 203.0.113.9 is not available" in evs
    assert kube.ingress_ip("web") is None


def test_no_nodes_warns(kube, cloud, start_manager):
    start_manager(cloud)
    kube.service("web")
    evs = kube.wait_event("web", "UnAvailableLoadBalancer")
    assert "Warning UnAvailableLoadBalancer There are no available nodes for LoadBalancer" in evs
    kube.wait_ip("web")


def test_load_balancer_class(kube, cloud, start_manager):
    kube.node("n1")
    mgr = start_manager(cloud, load_balancer_class="example.com/ours")
    kube.service("plain")
    kube.service("ours", loadBalancerClass="example.com/ours")
    kube.service("theirs", loadBalancerClass="example.com/theirs")
    kube.wait_ip("plain")
    kube.wait_ip("ours")
    kube.patch("theirs", {"metadata": {"annotations": {"x": "y"}}})
    seen(mgr, "default/theirs", lambda o: o["metadata"].get("annotations") == {"x": "y"})
    kube.patch("plain", {"metadata": {"annotations": {"x": "y"}}})  # fence: processed after theirs' update
    wait_for(lambda: len(cloud.lb.calls_of("ensure", "default/plain")) == 2)
    theirs = kube.get("theirs")
    assert not theirs.metadata.finalizers and not theirs.status.load_balancer.ingress
    assert not cloud.lb.calls_of("ensure", "default/theirs") and kube.events("theirs") == []


def test_ignore_unclassed(kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud, load_balancer_class="example.com/ours", ignore_unclassed=True)
    kube.service("plain")
    kube.service("ours", loadBalancerClass="example.com/ours")
    kube.wait_ip("ours")
    assert not cloud.lb.calls_of("ensure", "default/plain") and not kube.get("plain").metadata.finalizers


def test_foreign_finalizers_are_kept_in_order(kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud)
    body = {"metadata": {"name": "web", "finalizers": ["example.com/keep"]},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}
    kube.core.create_namespaced_service("default", body)
    kube.wait_ip("web")
    assert kube.get("web").metadata.finalizers == ["example.com/keep", F]
    kube.patch("web", {"spec": {"type": "ClusterIP"}})
    wait_for(lambda: kube.get("web").metadata.finalizers == ["example.com/keep"])
