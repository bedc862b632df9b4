"""dryRun=All: validated and answered as if applied, but nothing is stored or allocated."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, raw, service_body


def test_dry_run_create_update_patch_delete(apiserver, core: Api, make_service) -> None:
    before = apiserver.write_count()
    preview = raw(core.create_namespaced_service, "default",
                  service_body("web", "NodePort", ports=[{"port": 80, "nodePort": 30500}]), dry_run="All")
    assert preview["spec"]["ports"][0]["nodePort"] == 30500 and "resourceVersion" not in preview["metadata"]
    assert core.list_namespaced_service("default").items == []
    # the dry run did not keep the node port
    real = make_service("web", "NodePort", ports=[{"port": 80, "nodePort": 30500}])
    rv = real["metadata"]["resourceVersion"]
    assert apiserver.write_count() == before + 1
    out = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"a": "b"}}},
              dry_run="All")
    assert out["metadata"]["labels"] == {"a": "b"}
    real["metadata"]["labels"] = {"c": "d"}
    out = raw(core.replace_namespaced_service, "web", "default", real, dry_run="All")
    assert out["metadata"]["labels"] == {"c": "d"}
    raw(core.delete_namespaced_service, "web", "default", dry_run="All")
    stored = raw(core.read_namespaced_service, "web", "default")
    assert stored["metadata"]["resourceVersion"] == rv and "labels" not in stored["metadata"]
    assert apiserver.write_count() == before + 1


def test_dry_run_still_validates(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("default", service_body("web", ports=[{"port": 0}]), dry_run="All")
    assert e.value.status == 422
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("default", service_body("web"), dry_run="Some")
    assert e.value.status == 400
