"""Annotation validation before any cloud call (improvement), with the fake running AWS validation."""

from __future__ import annotations

import pytest

from ccm.annotations import aws as aws_ann
from ccm.controllers.service.predicates import LOAD_BALANCER_CLEANUP_FINALIZER as F
from providers.fake import FakeCloud
from providers.port import ProviderWarning
from tests.util import wait_for

# one invalid value per parser type, and the message part the user must see. (The legacy
# source-ranges annotation is CIDR-validated by the API server itself, like kube-apiserver, so
# it never reaches the controller invalid; its parser is covered in test_status_patching_request.)
BAD = [
    pytest.param(aws_ann.HEALTHCHECK_INTERVAL.key, "3", "must be an integer between 5 and 300", id="int-range"),
    pytest.param(aws_ann.CROSS_ZONE_LOAD_BALANCING_ENABLED.key, "yes", "must be a boolean", id="go-bool"),
    pytest.param(aws_ann.BACKEND_PROTOCOL.key, "ftp", "must be one of http, https, ssl or tcp", id="enum"),
    pytest.param(aws_ann.EXTRA_SECURITY_GROUPS.key, "sg-1,,sg-2", "without empty items", id="list"),
    pytest.param(aws_ann.ADDITIONAL_RESOURCE_TAGS.key, "a=1,,b=2", "without empty items", id="key-values"),
    pytest.param(aws_ann.SSL_PORTS.key, "99999", "must be a port number between 1 and 65535", id="port-list"),
    pytest.param(aws_ann.HEALTHCHECK_PORT.key, "99999", '"traffic-port" or a port number', id="port-or-keyword"),
    pytest.param(aws_ann.SSL_CERT.key, "not-an-arn", "must be an ACM or IAM certificate ARN", id="arn"),
    pytest.param(aws_ann.ACCESS_LOG_EMIT_INTERVAL.key, "7", "must be 5 or 60", id="emit-interval"),
]


@pytest.fixture
def aws_cloud() -> FakeCloud:
    return FakeCloud(annotation_provider="aws")


def test_every_parser_type_refused_before_any_cloud_call(kube, aws_cloud, start_manager):
    kube.node("n1")
    start_manager(aws_cloud)
    for i, p in enumerate(BAD):
        key, value, _ = p.values
        kube.service(f"bad{i}", annotations={key: value})
    for i, p in enumerate(BAD):
        key, value, accepted = p.values
        evs = kube.wait_event(f"bad{i}", "InvalidAnnotation")
        [inv] = [e for e in evs if "InvalidAnnotation" in e]
        assert inv.startswith(f'Warning InvalidAnnotation annotation {key}="{value}" is invalid: ')
        assert accepted in inv
        kube.wait_event(f"bad{i}", "SyncLoadBalancerFailed")
    assert aws_cloud.lb.calls == []
    for i in range(len(BAD)):
        svc = kube.get(f"bad{i}")
        assert not svc.metadata.finalizers and not svc.status.load_balancer.ingress


def test_cross_field_check(kube, aws_cloud, start_manager):
    kube.node("n1")
    start_manager(aws_cloud)
    kube.service("web", annotations={aws_ann.HEALTHCHECK_INTERVAL.key: "10", aws_ann.HEALTHCHECK_TIMEOUT.key: "20"})
    evs = kube.wait_event("web", "InvalidAnnotation")
    assert any("timeout" in e.lower() for e in evs if "InvalidAnnotation" in e)
    assert aws_cloud.lb.calls == []


def test_bad_value_on_existing_lb_leaves_it_alone_until_fixed(kube, aws_cloud, start_manager):
    kube.node("n1")
    mgr = start_manager(aws_cloud)
    key = aws_ann.HEALTHCHECK_INTERVAL.key
    kube.service("web", annotations={key: "10"})
    ip = kube.wait_ip("web")
    kube.patch("web", {"metadata": {"annotations": {key: "3"}}})
    kube.wait_event("web", "InvalidAnnotation")
    assert len(aws_cloud.lb.calls_of("ensure")) == 1 and kube.ingress_ip("web") == ip
    assert mgr.controller.queue.num_requeues("default/web") >= 1  # retried with backoff
    kube.patch("web", {"metadata": {"annotations": {key: "30"}}})
    wait_for(lambda: len(aws_cloud.lb.calls_of("ensure")) == 2)
    assert aws_cloud.lb.calls_of("ensure")[-1].request.annotations[key] == 30
    assert kube.ingress_ip("web") == ip


def test_invalid_annotations_never_block_deletion(kube, aws_cloud, start_manager):
    kube.node("n1")
    start_manager(aws_cloud)
    uid = kube.service("web").metadata.uid
    kube.wait_ip("web")
    kube.patch("web", {"metadata": {"annotations": {aws_ann.HEALTHCHECK_INTERVAL.key: "3"}}})
    kube.wait_event("web", "InvalidAnnotation")
    kube.delete("web")
    wait_for(lambda: not kube.exists("web"))
    assert not aws_cloud.lb.exists(uid)


def test_create_only_change_is_reported(kube, aws_cloud, start_manager):
    kube.node("n1")
    start_manager(aws_cloud)
    key = aws_ann.INTERNAL.key
    kube.service("web", annotations={key: "false"})
    kube.wait_ip("web")
    kube.patch("web", {"metadata": {"annotations": {key: "true"}}})
    evs = kube.wait_event("web", "CreateOnlyAnnotationChanged")
    [msg] = [e for e in evs if "CreateOnlyAnnotationChanged" in e]
    assert key in msg and "until the Service is re-created" in msg


def test_provider_warnings_and_annotation_warnings_become_events(kube, aws_cloud, start_manager):
    kube.node("n1")
    aws_cloud.lb.warn("ensure", ProviderWarning("CreateOnlySettingChanged", "subnets cannot change in place"))
    start_manager(aws_cloud)
    kube.service("web", annotations={aws_ann.TYPE.key: "alb"})
    evs = kube.wait_event("web", "CreateOnlySettingChanged")
    assert "Warning CreateOnlySettingChanged subnets cannot change in place" in evs
    kube.wait_ip("web")  # a "warn" annotation (upstream falls back to the default) does not block
    assert any(e.startswith("Warning AnnotationWarning") and aws_ann.TYPE.key in e for e in kube.events("web"))
    assert kube.get("web").metadata.finalizers == [F]
