"""Typed operations (field sets of objects, compare, merge, removal) and the field manager."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.apiserver.errors import APIError
from ccm.apiserver.ssa import fieldpath as fp
from ccm.apiserver.ssa import typed
from ccm.apiserver.ssa.fieldmanager import FieldManager, manager_from_user_agent
from ccm.apiserver.ssa.fieldpath import FieldSet
from ccm.apiserver.ssa.schema import for_model

F = fp.field
SVC = for_model("V1Service")
assert SVC is not None


def port(p: int, proto: str = "TCP") -> str:
    return fp.key({"port": p, "protocol": proto})


def svc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


class Clock:
    def __init__(self) -> None:
        self.t = 0

    def __call__(self) -> str:
        self.t += 1
        return f"2026-01-01T00:00:{self.t:02d}Z"


@pytest.fixture
def fm() -> FieldManager:
    return FieldManager(SVC, "v1", "Service", has_status=True, clock=Clock())


def owners(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{e['manager']}/{e['operation']}": e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


# ------------------------------------------------------------------ typed


def test_field_set_of_a_configuration_claims_leaves_items_and_map_keys() -> None:
    cfg = svc(ports=[{"port": 80, "targetPort": 8080}], selector={"app": "web"})
    cfg["metadata"]["labels"] = {"app": "web"}
    got = typed.to_field_set(cfg, SVC)
    spec = (F("spec"),)
    assert got == FieldSet.of((F("apiVersion"),), (F("kind"),), (F("metadata"), F("name")),
                              (F("metadata"), F("labels"), F("app")), (*spec, F("selector")),
                              (*spec, F("ports"), port(80)), (*spec, F("ports"), port(80), F("port")),
                              (*spec, F("ports"), port(80), F("targetPort")))


def test_compare_reports_granular_nodes_that_appear_and_atomic_ones_that_change() -> None:
    old = svc(selector={"a": "1"}, ports=[{"port": 80, "protocol": "TCP"}])
    new = svc(selector={"a": "2"}, ports=[{"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "UDP"}])
    cmp = typed.compare(old, new, SVC)
    assert cmp.modified == FieldSet.of((F("spec"), F("selector")))
    assert cmp.added == FieldSet.of((F("spec"), F("ports"), port(81, "UDP")),
                                    (F("spec"), F("ports"), port(81, "UDP"), F("port")),
                                    (F("spec"), F("ports"), port(81, "UDP"), F("protocol")))
    assert cmp.removed.empty()
    back = typed.compare(new, old, SVC)
    assert back.removed == cmp.added and back.added.empty()


def test_merge_keyed_lists_by_key_and_replaces_atomic_ones() -> None:
    live = svc(ports=[{"name": "a", "port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 443}],
               externalIPs=["1.1.1.1", "2.2.2.2"], selector={"a": "1", "b": "2"})
    cfg = svc(ports=[{"port": 80, "targetPort": 8080}, {"port": 53, "protocol": "UDP"}],
              externalIPs=["3.3.3.3"], selector={"c": "3"})
    got = typed.merge(live, cfg, SVC)["spec"]
    assert got["ports"] == [{"name": "a", "port": 80, "protocol": "TCP", "nodePort": 30080, "targetPort": 8080},
                            {"port": 443}, {"port": 53, "protocol": "UDP"}]
    assert got["externalIPs"] == ["3.3.3.3"] and got["selector"] == {"c": "3"}


@pytest.mark.parametrize(("live", "cfg", "want"), [
    (["a", "b", "c"], ["c", "a"], ["b", "c", "a"]),
    (["a", "b"], ["b", "x", "a"], ["b", "x", "a"]),
    (["x", "a", "y"], ["a", "z"], ["x", "a", "y", "z"]),
    ([], ["a"], ["a"]),
], ids=["reorder", "insert", "keep-unmentioned", "empty"])
def test_merge_order_of_set_lists(live: list[str], cfg: list[str], want: list[str]) -> None:
    obj = {"metadata": {"finalizers": live}}
    assert typed.merge(obj, {"metadata": {"finalizers": cfg}}, SVC)["metadata"]["finalizers"] == want


def test_remove_items_drops_owned_items_and_emptied_maps() -> None:
    obj = svc(ports=[{"port": 80}, {"port": 81}])
    obj["metadata"]["labels"] = {"a": "1"}
    gone = FieldSet.of((F("spec"), F("ports"), port(81)), (F("metadata"), F("labels"), F("a")))
    out = typed.remove_items(obj, gone, SVC)
    assert out["spec"]["ports"] == [{"port": 80}] and "labels" not in out["metadata"]


@pytest.mark.parametrize(("cfg", "message"), [
    (svc(foo=1), ".spec.foo: field not declared in schema"),
    (svc(ports={"port": 80}), ".spec.ports: expected list, got map"),
    (svc(ports=[{"targetPort": 80}]), "omits key field 'port'"),
    (svc(ports=[{"port": 80}, {"port": 80, "protocol": "TCP"}]),
     '.spec.ports: duplicate entries for key [port=80,protocol="TCP"]'),
    (svc(type={"x": 1}), ".spec.type: expected scalar, got map"),
], ids=["unknown", "shape", "key", "duplicate", "scalar"])
def test_validate_names_the_field(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(typed.SchemaError) as exc:
        typed.validate(cfg, SVC)
    assert message in str(exc.value)


# ------------------------------------------------------------------ field manager


def test_create_records_an_update_entry_of_what_was_set(fm: FieldManager) -> None:
    obj = svc(type="ClusterIP", ports=[{"port": 80, "protocol": "TCP"}])
    fm.update(None, obj, "kubectl-create")
    assert owners(obj) == {"kubectl-create/Update": {"f:spec": {
        "f:ports": {".": {}, port(80): {".": {}, "f:port": {}, "f:protocol": {}}}, "f:type": {}}}}
    assert obj["metadata"]["managedFields"][0]["time"] == "2026-01-01T00:00:01Z"


def test_update_moves_changed_fields_and_keeps_time_when_nothing_changed(fm: FieldManager) -> None:
    obj = svc(type="ClusterIP", sessionAffinity="None")
    fm.update(None, obj, "a")
    same = {**obj, "metadata": dict(obj["metadata"])}
    fm.update(obj, same, "b")  # a no-op write: no entry for b, a's time unchanged
    assert list(owners(same)) == ["a/Update"] and same["metadata"]["managedFields"] == obj["metadata"]["managedFields"]
    changed = svc(type="NodePort", sessionAffinity="None")
    changed["metadata"]["managedFields"] = obj["metadata"]["managedFields"]
    fm.update(obj, changed, "b")
    assert owners(changed) == {"a/Update": {"f:spec": {"f:sessionAffinity": {}}},
                               "b/Update": {"f:spec": {"f:type": {}}}}


def test_status_is_not_owned_through_the_main_resource(fm: FieldManager) -> None:
    obj = svc(type="ClusterIP")
    obj["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    fm.update(None, obj, "x")
    assert "f:status" not in owners(obj)["x/Update"]
    new = {**obj, "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}}}
    fm.update(obj, new, "ctrl", "status")
    assert new["metadata"]["managedFields"][-1]["subresource"] == "status"
    assert owners(new)["ctrl/Update"] == {"f:status": {"f:loadBalancer": {"f:ingress": {}}}}


def test_requests_cannot_drop_managed_fields_by_omitting_them_but_can_reset_them(fm: FieldManager) -> None:
    obj = svc(type="ClusterIP")
    fm.update(None, obj, "a")
    kept = svc(type="ClusterIP")  # a client that does not know managedFields
    fm.update(obj, kept, "b")
    assert list(owners(kept)) == ["a/Update"]
    reset = svc(type="ClusterIP")
    reset["metadata"]["managedFields"] = [{}]
    fm.update(obj, reset, "b")
    assert "managedFields" not in reset["metadata"]


def test_apply_conflicts_force_and_shared_ownership(fm: FieldManager) -> None:
    live = svc(type="ClusterIP", sessionAffinity="None")
    fm.update(None, live, "kubectl-create")
    same = fm.apply(live, svc(type="ClusterIP"), "applier", force=False)  # same value: shared, no conflict
    assert same["spec"] == live["spec"]
    assert set(owners(same)) == {"applier/Apply", "kubectl-create/Update"}
    with pytest.raises(APIError) as exc:
        fm.apply(same, svc(type="NodePort", sessionAffinity="ClientIP"), "applier", force=False)
    assert exc.value.code == 409
    assert exc.value.message == ('Apply failed with 2 conflicts: conflicts with "kubectl-create" using v1:\n'
                                 "- .spec.sessionAffinity\n- .spec.type")
    assert [c["field"] for c in exc.value.details["causes"]] == [".spec.sessionAffinity", ".spec.type"]
    forced = fm.apply(same, svc(type="NodePort", sessionAffinity="ClientIP"), "applier", force=True)
    assert forced["spec"] == {"type": "NodePort", "sessionAffinity": "ClientIP"}
    assert list(owners(forced)) == ["applier/Apply"]


def test_apply_removes_what_it_no_longer_sets_unless_someone_else_owns_it(fm: FieldManager) -> None:
    first = fm.apply(None, svc(ports=[{"port": 80}, {"port": 81}], externalIPs=["1.1.1.1"]), "a", force=False)
    shared = fm.apply(first, svc(ports=[{"port": 81}]), "b", force=False)
    out = fm.apply(shared, svc(ports=[{"port": 80}]), "a", force=False)
    assert out["spec"] == {"ports": [{"port": 80}, {"port": 81}]}  # 81 stays (b), externalIPs go
    again = fm.apply(out, svc(ports=[{"port": 80}]), "a", force=False)
    assert again == out  # nothing changed: the same object, the same times


def test_apply_to_an_object_without_managed_fields_attributes_it_first(fm: FieldManager) -> None:
    live = svc(type="ClusterIP")
    with pytest.raises(APIError, match=r'conflict with "before-first-apply" using v1: \.spec\.type'):
        fm.apply(live, svc(type="NodePort"), "a", force=False)


def test_update_managers_are_capped(fm: FieldManager) -> None:
    obj = svc(type="ClusterIP")
    for i in range(12):
        new = {**obj, "metadata": {**obj["metadata"], "labels": {f"l{i}": "x"} | obj["metadata"].get("labels", {})}}
        fm.update(obj, new, f"m{i}")
        obj = new
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10 and "ancient-changes" in managers and "m11" in managers and "m0" not in managers


@pytest.mark.parametrize(("agent", "manager"), [("kubectl/v1.37.1 (linux/amd64)", "kubectl"),
                                                 ("OpenAPI-Generator/37.0.1/python", "OpenAPI-Generator"),
                                                 ("a\x00b", "ab"), ("x" * 200, "x" * 128)])
def test_manager_from_user_agent(agent: str, manager: str) -> None:
    assert manager_from_user_agent(agent) == manager


def test_kubectl_takes_over_from_its_client_side_apply(fm: FieldManager) -> None:
    import json

    from ccm.apiserver.ssa.fieldmanager import LAST_APPLIED

    last = svc(type="ClusterIP", sessionAffinity="None")
    live = svc(type="ClusterIP", sessionAffinity="None", externalName="x")
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(last)}
    fm.update(None, live, "kubectl-client-side-apply")
    changed = svc(type="NodePort", sessionAffinity="None")
    with pytest.raises(APIError, match="kubectl-client-side-apply"):
        fm.apply(live, changed, "someone-else", force=False)  # only kubectl's own applies take over
    out = fm.apply(live, changed, "kubectl", force=False)
    assert out["spec"]["type"] == "NodePort"
    assert json.loads(out["metadata"]["annotations"][LAST_APPLIED]) == changed
    with pytest.raises(APIError, match=r"\.spec\.externalName"):  # not in last-applied: still a conflict
        fm.apply(live, svc(externalName="y"), "kubectl", force=False)
