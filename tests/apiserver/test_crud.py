"""Create, read, update, delete with system metadata, namespaces, names and optimistic concurrency."""

from __future__ import annotations

import json

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, api_error, raw, request, service_body


def test_create_sets_system_metadata_from_one_global_counter(core: Api, make_service) -> None:
    a = make_service("a")
    node = raw(core.create_node, {"metadata": {"name": "n1"}})
    b = make_service("b")
    m = a["metadata"]
    assert m["uid"] and m["creationTimestamp"].endswith("Z")
    assert "generation" not in m  # Services carry no generation in kube-apiserver
    rvs = [int(a["metadata"]["resourceVersion"]), int(node["metadata"]["resourceVersion"]),
           int(b["metadata"]["resourceVersion"])]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    got = raw(core.read_namespaced_service, "a", "default")
    assert got == a
    assert got["kind"] == "Service" and got["apiVersion"] == "v1"


def test_duplicate_create_is_409_already_exists(core: Api, make_service) -> None:
    make_service("web")
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("default", service_body("web"))
    assert e.value.status == 409
    body = api_error(e.value)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'services "web" already exists'
    assert body["details"] == {"name": "web", "kind": "services"}


def test_get_missing_is_404_not_found(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.read_namespaced_service("nope", "default")
    assert e.value.status == 404
    assert api_error(e.value)["message"] == 'services "nope" not found'


def test_update_with_stale_resource_version_is_409_conflict(core: Api, make_service) -> None:
    svc = make_service("web")
    fresh = dict(svc, metadata=dict(svc["metadata"], labels={"a": "1"}))
    updated = raw(core.replace_namespaced_service, "web", "default", fresh)
    assert updated["metadata"]["labels"] == {"a": "1"}
    assert int(updated["metadata"]["resourceVersion"]) > int(svc["metadata"]["resourceVersion"])
    stale = dict(svc, metadata=dict(svc["metadata"], labels={"a": "2"}))
    with pytest.raises(k8s.ApiException) as e:
        core.replace_namespaced_service("web", "default", stale)
    assert e.value.status == 409
    body = api_error(e.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on services "web": the object has been modified; '
                               "please apply your changes to the latest version and try again")
    assert raw(core.read_namespaced_service, "web", "default")["metadata"]["labels"] == {"a": "1"}


def test_unconditional_update_without_resource_version_is_allowed(core: Api, make_service) -> None:
    svc = make_service("web")
    body = dict(svc, metadata={"name": "web", "labels": {"x": "y"}})
    out = raw(core.replace_namespaced_service, "web", "default", body)
    assert out["metadata"]["labels"] == {"x": "y"}
    assert out["metadata"]["uid"] == svc["metadata"]["uid"]
    assert out["metadata"]["creationTimestamp"] == svc["metadata"]["creationTimestamp"]


def test_noop_update_keeps_resource_version(core: Api, make_service) -> None:
    svc = make_service("web")
    out = raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": None}})
    assert out["metadata"]["resourceVersion"] == svc["metadata"]["resourceVersion"]


def test_generate_name_and_name_rules_per_resource(core: Api, api_client: k8s.ApiClient) -> None:
    out = raw(core.create_namespaced_service, "default",
              {"metadata": {"generateName": "web-"}, "spec": {"ports": [{"port": 80}]}})
    assert out["metadata"]["name"].startswith("web-") and len(out["metadata"]["name"]) == 9
    with pytest.raises(k8s.ApiException) as e:  # the prefix follows the resource's name rule too
        core.create_namespaced_service("default", {"metadata": {"generateName": "Web-"},
                                                   "spec": {"ports": [{"port": 80}]}})
    assert "metadata.generateName" in {c["field"] for c in api_error(e.value)["details"]["causes"]}
    # Services need DNS-1123 labels (v1.36 relaxed DNS-1035): a leading digit is fine, dots are not
    assert raw(core.create_namespaced_service, "default", service_body("1web"))["metadata"]["name"] == "1web"
    for bad in ("web.x", "Web", "-web"):
        with pytest.raises(k8s.ApiException) as e:
            core.create_namespaced_service("default", service_body(bad))
        assert e.value.status == 422, bad
        assert api_error(e.value)["details"]["causes"][0]["field"] == "metadata.name"
    # Nodes and Leases take DNS subdomains (dots allowed)
    raw(core.create_node, {"metadata": {"name": "node-1.example.com"}})
    coord: Api = k8s.CoordinationV1Api(api_client)
    raw(coord.create_namespaced_lease, "default", {"metadata": {"name": "a.b"}, "spec": {}})
    with pytest.raises(k8s.ApiException) as e:
        coord.create_namespaced_lease("default", {"metadata": {"name": "A_B"}, "spec": {}})
    assert e.value.status == 422


def test_missing_name_is_required(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("default", {"metadata": {}, "spec": {"ports": [{"port": 80}]}})
    body = api_error(e.value)
    assert e.value.status == 422
    assert body["details"]["causes"][0] == {"reason": "FieldValueRequired",
                                            "message": "Required value: name or generateName is required",
                                            "field": "metadata.name"}


def test_namespace_in_body_must_match_url(core: Api) -> None:
    body = service_body("web")
    body["metadata"]["namespace"] = "kube-system"
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("default", body)
    assert e.value.status == 400
    assert "does not match the namespace" in api_error(e.value)["message"]
    body["metadata"]["namespace"] = "default"
    assert raw(core.create_namespaced_service, "default", body)["metadata"]["namespace"] == "default"
    # empty namespace in the body is defaulted from the URL
    assert raw(core.create_namespaced_service, "kube-system", service_body("dns"))["metadata"]["namespace"] \
        == "kube-system"


def test_create_in_missing_namespace_is_404(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.create_namespaced_service("ghost", service_body("web"))
    assert e.value.status == 404
    assert api_error(e.value)["message"] == 'namespaces "ghost" not found'


def test_namespaces_exist_and_can_be_created(core: Api) -> None:
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system"} <= names
    ns = raw(core.create_namespace, {"metadata": {"name": "team-a"}})
    assert ns["status"] == {"phase": "Active"}
    assert core.read_namespace("team-a").metadata.labels == {"kubernetes.io/metadata.name": "team-a"}
    raw(core.create_namespaced_service, "team-a", service_body("web"))
    assert [s.metadata.namespace for s in core.list_service_for_all_namespaces().items] == ["team-a"]


def test_delete_without_finalizers_is_immediate_and_returns_the_service(core: Api, make_service) -> None:
    make_service("web")
    out = raw(core.delete_namespaced_service, "web", "default")
    assert out["kind"] == "Service" and out["metadata"]["name"] == "web"
    with pytest.raises(k8s.ApiException) as e:
        core.read_namespaced_service("web", "default")
    assert e.value.status == 404


def test_delete_of_other_resources_returns_success_status(core: Api) -> None:
    raw(core.create_node, {"metadata": {"name": "n1"}})
    out = raw(core.delete_node, "n1")
    assert out["kind"] == "Status" and out["status"] == "Success"
    assert out["details"]["name"] == "n1" and out["details"]["kind"] == "nodes"


def test_delete_precondition_on_uid(core: Api, make_service) -> None:
    make_service("web")
    opts = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(k8s.ApiException) as e:
        core.delete_namespaced_service("web", "default", body=opts)
    assert e.value.status == 409
    assert "Precondition failed: UID in precondition: not-the-uid" in api_error(e.value)["message"]


def test_update_of_missing_node_is_404_but_service_put_creates(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.replace_node("n9", {"metadata": {"name": "n9"}})
    assert e.value.status == 404
    resp = core.replace_namespaced_service("web", "default", service_body("web"), _preload_content=False)
    assert resp.status == 201


def test_url_name_must_match_body(core: Api, make_service) -> None:
    svc = make_service("web")
    with pytest.raises(k8s.ApiException) as e:
        core.replace_namespaced_service("web", "default", dict(svc, metadata=dict(svc["metadata"], name="db")))
    assert e.value.status == 400
    assert "does not match the name on the URL" in api_error(e.value)["message"]


def test_unknown_path_is_404_status(api_client: k8s.ApiClient) -> None:
    status, body = request(api_client, "GET", "/api/v1/widgets")
    assert status == 404
    assert body["kind"] == "Status" and body["code"] == 404


def test_delete_collection_by_selector(core: Api, make_service) -> None:
    for name, labels in (("a", {"x": "1"}), ("b", {"x": "1"}), ("c", {"x": "2"})):
        raw(core.create_namespaced_event, "default", {"metadata": {"name": name, "labels": labels},
                                                      "involvedObject": {"kind": "Service", "namespace": "default"}})
    out = raw(core.delete_collection_namespaced_event, "default", label_selector="x=1")
    assert out["kind"] == "EventList" and [i["metadata"]["name"] for i in out["items"]] == ["a", "b"]
    assert [e.metadata.name for e in core.list_namespaced_event("default").items] == ["c"]
    # Services have no deletecollection in kube-apiserver
    make_service("web")
    with pytest.raises(k8s.ApiException) as e:
        core.delete_collection_namespaced_service("default")
    assert e.value.status == 405 and api_error(e.value)["reason"] == "MethodNotAllowed"


def test_noop_writes_of_every_kind_emit_no_watch_event(apiserver, core: Api, make_service) -> None:
    """kube-apiserver skips writing an identical object: no new resourceVersion, no watch event."""
    svc = make_service("web", "LoadBalancer")
    rv = svc["metadata"]["resourceVersion"]
    writes = apiserver.write_count()
    same = [raw(core.replace_namespaced_service, "web", "default", svc),
            raw(core.replace_namespaced_service_status, "web", "default", svc),
            raw(core.patch_namespaced_service, "web", "default", {"spec": {"ports": [{"port": 80}]}}),
            raw(core.patch_namespaced_service_status, "web", "default", {"status": {"loadBalancer": {}}})]
    assert [o["metadata"]["resourceVersion"] for o in same] == [rv] * 4
    assert apiserver.write_count() == writes + 4  # served as successful writes all the same
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"changed": "1"}}})
    stream = core.list_namespaced_service("default", watch=True, resource_version=rv, timeout_seconds=5,
                                          _preload_content=False)
    try:
        first = json.loads(stream.readline())
    finally:
        stream.release_conn()
    assert first["type"] == "MODIFIED" and first["object"]["metadata"]["labels"] == {"changed": "1"}
