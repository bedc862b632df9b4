"""Label and field selectors on lists, including kube-apiserver's 400 for unsupported fields."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from ccm.apiserver.selectors import parse_label_selector
from tests.apiserver.conftest import Api, api_error, raw


@pytest.fixture
def labelled(core: Api) -> None:
    for name, labels, type_ in (("a", {"app": "web", "tier": "front"}, "LoadBalancer"),
                                ("b", {"app": "db"}, "ClusterIP"),
                                ("c", {"app": "web"}, "NodePort"),
                                ("d", {}, "ClusterIP")):
        raw(core.create_namespaced_service, "default",
            {"metadata": {"name": name, "labels": labels}, "spec": {"type": type_, "ports": [{"port": 80}]}})


def names(items: list) -> list[str]:
    return [i.metadata.name for i in items]


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", ["a", "c"]),
    ("app==web", ["a", "c"]),
    ("app!=web", ["b", "d"]),
    ("app in (db, web)", ["a", "b", "c"]),
    ("app notin (web)", ["b", "d"]),
    ("tier", ["a"]),
    ("!tier", ["b", "c", "d"]),
    ("app=web,!tier", ["c"]),
    ("", ["a", "b", "c", "d"]),
])
def test_label_selectors(core: Api, labelled: None, selector: str, expected: list[str]) -> None:
    assert names(core.list_namespaced_service("default", label_selector=selector).items) == expected


def test_field_selectors_for_services(core: Api, labelled: None) -> None:
    assert names(core.list_namespaced_service("default", field_selector="spec.type=ClusterIP").items) == ["b", "d"]
    assert names(core.list_namespaced_service("default", field_selector="metadata.name=c").items) == ["c"]
    assert names(core.list_service_for_all_namespaces(field_selector="metadata.namespace!=default").items) == []
    assert names(core.list_namespaced_service("default",
                                              field_selector="spec.type!=ClusterIP,metadata.name!=a").items) == ["c"]
    ip = core.read_namespaced_service("b", "default").spec.cluster_ip
    assert names(core.list_namespaced_service("default", field_selector=f"spec.clusterIP={ip}").items) == ["b"]


def test_unsupported_field_selector_is_400(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.list_namespaced_service("default", field_selector="spec.selector=x")
    assert e.value.status == 400
    body = api_error(e.value)
    assert body["reason"] == "BadRequest" and body["message"] == "field label not supported: spec.selector"


def test_bad_label_selector_is_400(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.list_namespaced_service("default", label_selector="app in web")
    assert e.value.status == 400


def test_node_unschedulable_field_selector(core: Api) -> None:
    raw(core.create_node, {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}})
    raw(core.create_node, {"metadata": {"name": "n2"}})
    assert names(core.list_node(field_selector="spec.unschedulable=false").items) == ["n2"]
    assert names(core.list_node(field_selector="spec.unschedulable=true").items) == ["n1"]


def test_selector_parser_edge_cases() -> None:
    sel = parse_label_selector("a in (x,y),b notin (z),c,!d,e!=f")
    assert sel.matches({"a": "x", "c": "", "e": "g"})
    assert not sel.matches({"a": "x", "c": "", "d": "1"})
    assert not sel.matches({"a": "x", "b": "z", "c": ""})
    assert parse_label_selector("k>3").matches({"k": "4"}) and not parse_label_selector("k<3").matches({"k": "4"})
