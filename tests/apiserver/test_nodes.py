"""Nodes: cluster-scoped objects with spec, status, taints and labels."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, api_error, raw


def test_node_round_trip(core: Api) -> None:
    body = {"metadata": {"name": "worker-1", "labels": {"node.kubernetes.io/exclude-from-external-load-balancers": ""}},
            "spec": {"providerID": "local://worker-1",
                     "taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.2"},
                                     {"type": "Hostname", "address": "worker-1"}],
                       "conditions": [{"type": "Ready", "status": "True"}]}}
    out = raw(core.create_node, body)
    assert "namespace" not in out["metadata"]
    node = core.read_node("worker-1")
    assert node.spec.taints[0].effect == "NoSchedule"
    assert [a.type for a in node.status.addresses] == ["InternalIP", "Hostname"]
    assert node.metadata.labels == {"node.kubernetes.io/exclude-from-external-load-balancers": ""}
    assert [n.metadata.name for n in core.list_node(label_selector="node.kubernetes.io/exclude-from-external-load-balancers").items] == ["worker-1"]


def test_taint_validation_and_provider_id_immutability(core: Api) -> None:
    with pytest.raises(k8s.ApiException) as e:
        core.create_node({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}})
    assert e.value.status == 422
    assert api_error(e.value)["details"]["causes"][0]["field"] == "spec.taints[0].effect"
    raw(core.create_node, {"metadata": {"name": "n"}, "spec": {"providerID": "a://1"}})
    with pytest.raises(k8s.ApiException) as e:
        core.patch_node("n", {"spec": {"providerID": "a://2"}})
    assert e.value.status == 422
    # taints are atomic under a strategic merge patch: the list is replaced
    raw(core.patch_node, "n", {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}})
    out = raw(core.patch_node, "n", {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
    assert [t["key"] for t in out["spec"]["taints"]] == ["b"]


def test_strategic_merge_on_node_lists_follows_the_api_struct_tags(core: Api) -> None:
    """addresses merge by type; taints and images have no patch strategy, so a patch replaces them."""
    raw(core.create_node, {"metadata": {"name": "n1"},
                           "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
                           "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
                                      "images": [{"names": ["img:1"], "sizeBytes": 1}]}})
    out = raw(core.patch_node, "n1", {"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}]}})
    assert [t["key"] for t in out["spec"]["taints"]] == ["b"]
    out = raw(core.patch_node_status, "n1", {"status": {"addresses": [{"type": "Hostname", "address": "n1"}],
                                                        "images": [{"names": ["img:2"], "sizeBytes": 2}]}})
    assert [a["type"] for a in out["status"]["addresses"]] == ["InternalIP", "Hostname"]
    assert out["status"]["images"] == [{"names": ["img:2"], "sizeBytes": 2}]
