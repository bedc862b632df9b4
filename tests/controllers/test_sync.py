"""syncService in isolation: the fake cloud, client-go's FakeRecorder and a patcher that records
the patch bodies instead of sending them (the wire is covered by test_e2e_*.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.annotations import aws as aws_ann
from ccm.annotations.support import EVERYTHING, AnnotationSupport, Honoured
from ccm.controllers.service import patching
from ccm.controllers.service.errors import SyncError, find_retry
from ccm.controllers.service.predicates import ClassFilter
from ccm.controllers.service.state import LastSyncedNodes, ServiceCache
from ccm.controllers.service.sync import Op, ServiceSyncer
from ccm.kube.client import ApiError
from ccm.kube.events import FakeRecorder
from providers.fake import FakeCloud
from providers.port import ImplementedElsewhere, ProviderWarning, RetryError, UserError

F = patching.F


class RecordingPatcher(patching.ServicePatcher):
    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail or {}

    def _patch(self, svc, body):
        kind = "status" if "status" in body else "finalizer"
        if kind in self.fail:
            raise self.fail[kind]
        self.bodies.append((kind, body))
        return {}


def svc(name="web", uid="u1", *, finalizers=None, annotations=None, status=None, deleting=False, **spec):
    s: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "default", "uid": uid, "finalizers": finalizers or [],
                     "annotations": annotations or {}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}],
                 **spec},
        "status": {"loadBalancer": status or {}},
    }
    if deleting:
        s["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return s


NODES = [{"metadata": {"name": "n1"}, "spec": {}}, {"metadata": {"name": "n2"}, "spec": {}}]


def make(nodes=NODES, annotation_provider="fake", patcher=None, classes=None, support=EVERYTHING):
    cloud = FakeCloud(annotation_provider=annotation_provider)
    rec = FakeRecorder()
    syncer = ServiceSyncer(
        lb=cloud.lb, patcher=patcher or RecordingPatcher(), recorder=rec, list_nodes=lambda: nodes,
        cache=ServiceCache(), last_synced=LastSyncedNodes(), cluster_name="kubernetes",
        annotation_provider=annotation_provider, classes=classes or ClassFilter(), support=support,
        provider="fake",
    )
    return cloud.lb, rec, syncer


def test_create_adds_finalizer_then_status():
    lb, rec, s = make()
    s.process_service_create_or_update(svc(), "default/web")
    assert rec.events == ["Normal EnsuringLoadBalancer Ensuring load balancer",
                          "Normal EnsuredLoadBalancer Ensured load balancer"]
    bodies = s.patcher.bodies
    assert bodies[0] == ("finalizer", {"metadata": {"finalizers": [F]}})
    ingress = bodies[1][1]["status"]["loadBalancer"]["ingress"]
    assert ingress[0]["ipMode"] == "VIP" and ingress[0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert {n.name for n in lb.calls_of("ensure")[0].request.nodes} == {"n1", "n2"}
    assert "default/web" in s.last_synced and s.cache.get("default/web") is not None


def test_steady_sync_writes_nothing():
    lb, _rec, s = make()
    s.process_service_create_or_update(svc(), "default/web")
    ingress = s.patcher.bodies[1][1]["status"]["loadBalancer"]
    s.patcher.bodies.clear()
    s.process_service_create_or_update(svc(finalizers=[F], status=ingress), "default/web")
    assert s.patcher.bodies == [] and lb.counter.totals()[0] == 1


def test_no_nodes_warns_and_still_calls_cloud():
    lb, rec, s = make(nodes=[])
    s.process_service_create_or_update(svc(), "default/web")
    assert "Warning UnAvailableLoadBalancer There are no available nodes for LoadBalancer" in rec.events
    assert lb.calls_of("ensure")[0].request.nodes == ()


def test_delete_branch_events_and_patches():
    lb, rec, s = make()
    s.process_service_create_or_update(svc(), "default/web")
    rec.clear()
    s.patcher.bodies.clear()
    st = {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}
    s.process_service_create_or_update(svc(finalizers=[F], status=st, deleting=True), "default/web")
    assert rec.events == ["Normal DeletingLoadBalancer Deleting load balancer",
                          "Normal DeletedLoadBalancer Deleted load balancer"]
    assert s.patcher.bodies == [("finalizer", {"metadata": {"$deleteFromPrimitiveList/finalizers": [F]}}),
                                ("status", {"status": {"loadBalancer": {"ingress": None}}})]
    assert [c.operation for c in lb.calls][-2:] == ["get", "delete"]
    assert s.cache.get("default/web") is None and "default/web" not in s.last_synced  # pruned


def test_deleted_event_even_without_lb_or_finalizer():
    lb, rec, s = make()
    s.process_service_create_or_update(svc(type="ClusterIP"), "default/web")
    assert rec.events == ["Normal DeletedLoadBalancer Deleted load balancer"]
    assert [c.operation for c in lb.calls] == ["get"]


@pytest.mark.parametrize(("op", "error", "message"), [
    pytest.param("ensure", RuntimeError("boom"), "failed to ensure load balancer: boom", id="ensure"),
])
def test_ensure_error_wrapped(op, error, message):
    lb, rec, s = make()
    lb.fail(op, error)
    with pytest.raises(Exception, match=message):
        s.process_service_create_or_update(svc(), "default/web")
    assert rec.events[-1] == f"Warning SyncLoadBalancerFailed Error syncing load balancer: {message}"


def test_delete_errors_wrapped():
    lb, _rec, s = make()
    lb.fail("get", RuntimeError("down"))
    with pytest.raises(Exception, match="failed to check if load balancer exists before cleanup: down"):
        s.process_service_create_or_update(svc(finalizers=[F], deleting=True), "default/web")
    lb.ensure(s.lenient_request(svc()))
    lb.fail("delete", RuntimeError("stuck"))
    with pytest.raises(Exception, match=r"^failed to delete load balancer: stuck$"):
        s.process_service_create_or_update(svc(finalizers=[F], deleting=True), "default/web")


def test_patch_errors_wrapped_and_status_not_found_ignored():
    boom = ApiError(500, "InternalError", "x")
    _, rec, s = make(patcher=RecordingPatcher({"finalizer": boom}))
    with pytest.raises(Exception, match="failed to add load balancer cleanup finalizer"):
        s.process_service_create_or_update(svc(), "default/web")
    _, rec, s = make(patcher=RecordingPatcher({"status": boom}))
    with pytest.raises(Exception, match="failed to update load balancer status"):
        s.process_service_create_or_update(svc(), "default/web")
    _, rec, s = make(patcher=RecordingPatcher({"status": ApiError(404, "NotFound")}))
    s.process_service_create_or_update(svc(finalizers=[F], deleting=True, status={"ingress": [{"ip": "1.1.1.1"}]}),
                                       "default/web")
    assert rec.events == ["Normal DeletedLoadBalancer Deleted load balancer"]  # NotFound on status tolerated
    _, _rec, s = make(patcher=RecordingPatcher({"finalizer": boom}))
    with pytest.raises(Exception, match="failed to remove load balancer cleanup finalizer"):
        s.process_service_create_or_update(svc(finalizers=[F], deleting=True), "default/web")


def test_retry_error_detectable_through_wrapping():
    lb, _, s = make()
    lb.fail("ensure", RetryError("wait", 7))
    with pytest.raises(Exception) as info:
        s.process_service_create_or_update(svc(), "default/web")
    retry = find_retry(info.value)
    assert retry is not None and retry.retry_after == 7


def test_implemented_elsewhere_keeps_finalizer_skips_status():
    lb, rec, s = make()
    lb.fail("ensure", ImplementedElsewhere())
    s.process_service_create_or_update(svc(), "default/web")
    assert [k for k, _ in s.patcher.bodies] == ["finalizer"]
    assert rec.events == ["Normal EnsuringLoadBalancer Ensuring load balancer"]


def test_user_error_and_provider_warnings_become_events():
    lb, rec, s = make()
    lb.fail("ensure", UserError("loadBalancerIP 1.2.3.4 is not ours", "InvalidLoadBalancerIP"))
    with pytest.raises(SyncError, match="failed to ensure load balancer"):
        s.process_service_create_or_update(svc(), "default/web")
    assert "Warning InvalidLoadBalancerIP loadBalancerIP 1.2.3.4 is not ours" in rec.events
    rec.clear()
    lb.warn("ensure", ProviderWarning("SomethingOdd", "look at this"))
    s.process_service_create_or_update(svc(), "default/web")
    assert "Warning SomethingOdd look at this" in rec.events


def test_invalid_annotation_blocks_cloud_calls():
    lb, rec, s = make(annotation_provider="aws")
    bad = {"service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "3"}
    with pytest.raises(Exception, match="invalid annotations"):
        s.process_service_create_or_update(svc(annotations=bad), "default/web")
    assert lb.calls == [] and s.patcher.bodies == []
    assert rec.events[0] == ('Warning InvalidAnnotation annotation service.beta.kubernetes.io/'
                             'aws-load-balancer-healthcheck-interval="3" is invalid: must be an integer between 5 and 300')
    # deletion is not blocked by it; with our finalizer on, delete runs although get found nothing
    # (a create that failed half-way leaves parts without a load balancer)
    s.process_service_create_or_update(svc(annotations=bad, finalizers=[F], deleting=True), "default/web")
    assert [c.operation for c in lb.calls] == ["get", "delete"]


def test_unsupported_annotation_is_refused_before_any_cloud_call():
    support = AnnotationSupport.of({aws_ann.NLB_TARGET_TYPE: Honoured(values=frozenset({"instance"}))},
                                   handed_off={aws_ann.TYPE: ("external",)})
    lb, rec, s = make(annotation_provider="aws", support=support)
    asked = {aws_ann.NLB_TARGET_TYPE.key: "ip", aws_ann.SCHEME.key: "internal"}
    with pytest.raises(SyncError, match="unsupported annotations"):
        s.process_service_create_or_update(svc(annotations=asked), "default/web")
    assert lb.calls == [] and s.patcher.bodies == []  # no cloud call, not even the finalizer
    assert sorted(e for e in rec.events if "UnsupportedAnnotation" in e) == [
        f'Warning UnsupportedAnnotation annotation {aws_ann.NLB_TARGET_TYPE.key}="ip" is not supported by the '
        "fake provider: supported values: instance",
        f'Warning UnsupportedAnnotation annotation {aws_ann.SCHEME.key}="internal" is not supported by the fake '
        "provider: recognised but not implemented by this adapter; remove it",
    ]
    # what is honoured passes; a Service handed to another controller is not ours to judge
    s.process_service_create_or_update(svc(annotations={aws_ann.NLB_TARGET_TYPE.key: "instance"}), "default/web")
    s.process_service_create_or_update(svc("lbc", "u2", annotations={**asked, aws_ann.TYPE.key: "external"}),
                                       "default/lbc")
    assert [c.operation for c in lb.calls] == ["ensure", "ensure"]


def test_create_only_change_reported_against_cached_state():
    _lb, rec, s = make(annotation_provider="aws")
    key = "service.beta.kubernetes.io/aws-load-balancer-internal"
    s.process_service_create_or_update(svc(annotations={key: "false"}), "default/web")
    rec.clear()
    s.process_service_create_or_update(svc(annotations={key: "true"}, finalizers=[F]), "default/web")
    assert rec.events[0].startswith(f"Warning CreateOnlyAnnotationChanged annotation {key} is create-only")
    rec.clear()
    # a different uid (re-created Service) is not a change: the old one is deleted first
    s.process_service_create_or_update(svc(uid="u2", annotations={key: "false"}), "default/web")
    assert not any("CreateOnly" in e for e in rec.events)
    assert rec.events[:2] == ["Normal DeletingLoadBalancer Deleting load balancer",
                              "Normal DeletedLoadBalancer Deleted load balancer"]


def test_uid_change_delete_failure_is_raw():
    lb, rec, s = make()
    s.process_service_create_or_update(svc(), "default/web")
    lb.fail("delete", RuntimeError("nope"))
    with pytest.raises(RuntimeError, match=r"^nope$"):
        s.process_service_create_or_update(svc(uid="u2"), "default/web")
    assert rec.events[-1] == "Warning DeleteLoadBalancerFailed Error deleting load balancer: nope"


def test_process_service_deletion_uses_cache():
    lb, rec, s = make()
    s.process_service_deletion("default/gone")
    assert lb.calls == []
    s.process_service_create_or_update(svc(), "default/web")
    rec.clear()
    s.process_service_deletion("default/web")
    assert rec.events == ["Normal DeletingLoadBalancer Deleting load balancer",
                          "Normal DeletedLoadBalancer Deleted load balancer"]
    assert lb.calls[-1].operation == "delete" and s.cache.get("default/web") is None


def test_foreign_class_untouched():
    lb, rec, s = make()
    s.process_service_create_or_update(svc(loadBalancerClass="other", finalizers=[F], deleting=True), "default/web")
    assert lb.calls == [] and rec.events == [] and s.patcher.bodies == []


def test_quiet_resync_emits_nothing_when_steady():
    _lb, rec, s = make()
    s.process_service_create_or_update(svc(), "default/web")
    st = s.patcher.bodies[1][1]["status"]["loadBalancer"]
    rec.clear()
    op = s.sync_load_balancer_if_needed(svc(finalizers=[F], status=st), "default/web", quiet=True)
    assert op is Op.ENSURE and rec.events == []


def test_node_set_converted_once_for_many_services():
    lb, _rec, s = make()
    s.process_service_create_or_update(svc(name="a", uid="ua"), "default/a")
    s.process_service_create_or_update(svc(name="b", uid="ub"), "default/b")
    a, b = lb.calls_of("ensure")
    assert a.request.nodes is b.request.nodes and s.node_sets.computed == 1
    assert s.last_synced.get("default/a") is s.last_synced.get("default/b")
