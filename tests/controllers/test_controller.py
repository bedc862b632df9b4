"""Informer handlers (what gets enqueued, §1.3 and §2.2) and the worker's key handling, without a server."""

from __future__ import annotations

import copy

import kubernetes.client
import pytest

from ccm.controllers.service.controller import Listers, ServiceController
from ccm.controllers.service.nodeset import NodeSets
from ccm.controllers.service.predicates import LOAD_BALANCER_CLEANUP_FINALIZER as F
from ccm.controllers.service.predicates import ClassFilter
from ccm.kube.client import RawClient
from ccm.kube.events import FakeRecorder
from providers.fake import FakeCloud
from providers.port import RetryError
from tests.controllers.test_sync import RecordingPatcher


def svc(name="web", **spec):
    return {"metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec}}


@pytest.fixture
def ctrl():
    store: dict[str, dict] = {}
    c = ServiceController(
        RawClient(kubernetes.client.ApiClient()), FakeCloud(), FakeRecorder(),
        Listers(store.get, lambda: list(store.values()), lambda: []),
        classes=ClassFilter("mine"),
    )
    yield c
    c.stop()


def drain(queue):
    items = []
    while len(queue):
        item, _ = queue.get(0)
        items.append(item)
        queue.done(item)
    return items


def test_service_handlers(ctrl):
    ctrl.on_service_add(svc("a"))
    ctrl.on_service_add(svc("b", type="ClusterIP"))
    ctrl.on_service_add(svc("c", loadBalancerClass="theirs"))
    ctrl.on_service_add(svc("d", loadBalancerClass="mine"))
    cleanup = svc("e", type="ClusterIP")
    cleanup["metadata"]["finalizers"] = [F]
    ctrl.on_service_add(cleanup)
    assert drain(ctrl.queue) == ["default/a", "default/d", "default/e"]
    old = svc("a")
    ctrl.on_service_update(old, copy.deepcopy(old))  # informer resync: nothing
    labelled = copy.deepcopy(old)
    labelled["metadata"]["labels"] = {"x": "y"}
    ctrl.on_service_update(old, labelled)
    assert drain(ctrl.queue) == []
    ctrl.on_service_update(old, svc("a", loadBalancerIP="192.0.2.7"))
    assert drain(ctrl.queue) == ["default/a"]


def test_node_handlers(ctrl):
    n = {"metadata": {"name": "n1"}, "spec": {}}
    ctrl.on_node_add(n)
    ctrl.on_node_delete(n)  # coalesced with the add while queued
    assert drain(ctrl.node_queue) == ["n1"]
    ctrl.on_node_update(n, copy.deepcopy(n))
    assert drain(ctrl.node_queue) == []
    ctrl.on_node_update(n, {"metadata": {"name": "n1"}, "spec": {"providerID": "fake://n1"}})
    assert drain(ctrl.node_queue) == ["n1"]


def test_malformed_key_is_an_error(ctrl):
    with pytest.raises(ValueError, match='unexpected key format: "a/b/c"'):
        ctrl.sync_service("a/b/c")


def test_resync_queues_only_owned_load_balancers(ctrl):
    store = {"default/a": svc("a"), "default/b": svc("b", type="NodePort"), "default/c": svc("c", loadBalancerClass="x")}
    ctrl.listers = Listers(store.get, lambda: list(store.values()), lambda: [])
    assert ctrl.resync_now() == 1 and drain(ctrl.queue) == ["default/a"]


def test_no_load_balancer_capability_is_refused():
    with pytest.raises(ValueError, match="does not support external load balancers"):
        ServiceController(RawClient(kubernetes.client.ApiClient()), FakeCloud(has_load_balancer=False),
                          FakeRecorder(), Listers(lambda k: None, list, list))


def test_worker_requeues_by_error_kind(ctrl):
    ctrl.listers = Listers({"default/a": svc("a")}.get, list, list)
    ctrl.syncer.patcher = RecordingPatcher()
    ctrl.lb.inner.fail("ensure", RetryError("busy", 30))
    ctrl._process_service("default/a")
    assert ctrl.queue.waiting() == 1 and ctrl.queue.num_requeues("default/a") == 0  # fixed delay
    ctrl.lb.inner.fail("ensure", RuntimeError("boom"))
    ctrl._process_service("default/a")
    assert ctrl.queue.num_requeues("default/a") == 1  # exponential backoff
    ctrl._process_service("default/a")
    assert ctrl.queue.num_requeues("default/a") == 0  # success forgets


def test_start_after_stop_starts_nothing(ctrl):
    ctrl.stop()
    ctrl.start()
    assert ctrl._threads == [] and len(ctrl.queue) == 0


def test_resync_is_quiet_unless_a_change_is_pending(ctrl):
    ctrl.syncer.patcher = patcher = RecordingPatcher()
    ctrl.syncer.node_sets = NodeSets(lambda: [{"metadata": {"name": "n1"}, "spec": {}}])
    rec = ctrl.syncer.recorder
    ctrl.syncer.process_service_create_or_update(svc("a"), "default/a")
    steady = svc("a")
    steady["metadata"]["finalizers"] = [F]
    steady["status"] = patcher.bodies[-1][1]["status"]
    ctrl.listers = Listers({"default/a": steady}.get, lambda: [steady], list)

    def run_queue():
        rec.clear()
        for key in drain(ctrl.queue):
            ctrl._process_service(key)
        return rec.events

    ctrl.resync_now()
    assert run_queue() == []  # steady and only resynced: no events
    ctrl.on_service_add(steady)
    ctrl.resync_now()  # does not turn the pending real change quiet
    assert run_queue()[0] == "Normal EnsuringLoadBalancer Ensuring load balancer"
    ctrl.on_service_add(steady)
    assert run_queue()[0] == "Normal EnsuringLoadBalancer Ensuring load balancer"
    ctrl.resync_now()
    assert run_queue() == []  # the mark of the earlier loud sync is gone
