"""Graceful deletion with finalizers, as the service controller's cleanup relies on it."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, api_error, raw

FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


def test_delete_with_finalizer_marks_then_last_removal_deletes(core: Api, make_service) -> None:
    make_service("web", "LoadBalancer")
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"finalizers": [FINALIZER]}})
    marked = raw(core.delete_namespaced_service, "web", "default")
    m = marked["metadata"]
    assert m["deletionTimestamp"] and m["deletionGracePeriodSeconds"] == 0
    assert raw(core.read_namespaced_service, "web", "default")["metadata"]["deletionTimestamp"] == m["deletionTimestamp"]
    # deleting again returns it unchanged
    again = raw(core.delete_namespaced_service, "web", "default")
    assert again["metadata"]["resourceVersion"] == m["resourceVersion"]
    # a new finalizer cannot be added while terminating
    with pytest.raises(k8s.ApiException) as e:
        core.patch_namespaced_service("web", "default", {"metadata": {"finalizers": [FINALIZER, "example.com/x"]}})
    assert e.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in api_error(e.value)["message"]
    # the update that empties the finalizers deletes the object, and the ClusterIP is released
    ip = marked["spec"]["clusterIP"]
    out = raw(core.patch_namespaced_service_status, "web", "default",
              {"metadata": {"$deleteFromPrimitiveList/finalizers": [FINALIZER]}})
    assert out["metadata"]["name"] == "web"
    with pytest.raises(k8s.ApiException) as e:
        core.read_namespaced_service("web", "default")
    assert e.value.status == 404
    recreated = make_service("other", clusterIP=ip)
    assert recreated["spec"]["clusterIP"] == ip


def test_terminating_object_still_accepts_other_updates(core: Api, make_service) -> None:
    make_service("web")
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"finalizers": ["a.io/x", "a.io/y"]}})
    raw(core.delete_namespaced_service, "web", "default")
    out = raw(core.patch_namespaced_service, "web", "default",
              {"metadata": {"labels": {"l": "v"}, "$deleteFromPrimitiveList/finalizers": ["a.io/x"]}})
    assert out["metadata"]["finalizers"] == ["a.io/y"] and out["metadata"]["labels"] == {"l": "v"}
    assert out["metadata"]["deletionTimestamp"]
    # an update cannot clear deletionTimestamp
    out = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"deletionTimestamp": None}})
    assert out["metadata"]["deletionTimestamp"]


def test_deletion_timestamp_cannot_be_set_by_an_update(core: Api, make_service) -> None:
    make_service("web")
    with pytest.raises(k8s.ApiException) as e:
        core.patch_namespaced_service("web", "default", {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
    assert e.value.status == 422
    assert api_error(e.value)["details"]["causes"][0]["field"] == "metadata.deletionTimestamp"
