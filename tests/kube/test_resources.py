"""Resource paths and object keys."""

from __future__ import annotations

import pytest

from ccm.kube.resources import ENDPOINTSLICES, EVENTS, LEASES, NODES, SERVICES, object_key, split_key


@pytest.mark.parametrize(("resource", "namespace", "expected"), [
    pytest.param(SERVICES, None, "/api/v1/services", id="services-all"),
    pytest.param(SERVICES, "kube-system", "/api/v1/namespaces/kube-system/services", id="services-ns"),
    pytest.param(NODES, None, "/api/v1/nodes", id="nodes"),
    pytest.param(EVENTS, "a", "/api/v1/namespaces/a/events", id="events"),
    pytest.param(ENDPOINTSLICES, "a", "/apis/discovery.k8s.io/v1/namespaces/a/endpointslices", id="slices"),
    pytest.param(LEASES, "kube-system", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
                 id="leases"),
])
def test_collection_paths(resource, namespace, expected):
    assert resource.collection_path(namespace) == expected


def test_item_paths_and_subresources():
    assert SERVICES.item_path("default", "web", "status") == "/api/v1/namespaces/default/services/web/status"
    assert NODES.item_path(None, "node-1") == "/api/v1/nodes/node-1"
    assert NODES.item_path("ignored", "node-1") == "/api/v1/nodes/node-1"
    assert SERVICES.item_path("default", "a b") == "/api/v1/namespaces/default/services/a%20b"
    with pytest.raises(ValueError):
        SERVICES.item_path(None, "web")
    with pytest.raises(ValueError):
        NODES.collection_path("default")
    with pytest.raises(ValueError):
        SERVICES.item_path("default", "")


def test_api_version():
    assert SERVICES.api_version == "v1"
    assert LEASES.api_version == "coordination.k8s.io/v1"


def test_keys_round_trip():
    assert object_key({"metadata": {"namespace": "a", "name": "b"}}) == "a/b"
    assert object_key({"metadata": {"name": "n"}}) == "n"
    assert split_key("a/b") == ("a", "b")
    assert split_key("n") == ("", "n")
    with pytest.raises(ValueError, match='unexpected key format: "a/b/c"'):
        split_key("a/b/c")
