"""Discovery documents the official client and kubectl read."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import request


def test_version_api_and_trailing_slash(api_client: k8s.ApiClient) -> None:
    info = k8s.VersionApi(api_client).get_code()  # the client asks for /version/
    assert info.major == "1" and info.minor == "36" and info.git_version.startswith("v1.36")
    assert request(api_client, "GET", "/version")[1]["gitVersion"] == info.git_version


@pytest.mark.parametrize("path", ["/api", "/api/"])
def test_core_api_versions(api_client: k8s.ApiClient, path: str) -> None:
    status, body = request(api_client, "GET", path)
    assert status == 200 and body["kind"] == "APIVersions" and body["versions"] == ["v1"]


def test_core_v1_resources(api_client: k8s.ApiClient) -> None:
    resources = {r.name: r for r in k8s.CoreV1Api(api_client).get_api_resources().resources}
    assert {"namespaces", "services", "services/status", "nodes", "nodes/status", "events", "endpoints"} <= \
        set(resources)
    assert resources["services"].namespaced and not resources["nodes"].namespaced
    assert resources["services"].short_names == ["svc"]
    assert set(resources["services/status"].verbs) == {"get", "patch", "update"}
    assert "watch" in resources["services"].verbs


def test_groups(api_client: k8s.ApiClient) -> None:
    groups = {g.name: g for g in k8s.ApisApi(api_client).get_api_versions().groups}
    assert set(groups) == {"discovery.k8s.io", "coordination.k8s.io", "events.k8s.io", "rbac.authorization.k8s.io",
                           "authentication.k8s.io", "authorization.k8s.io"}
    preferred = groups["discovery.k8s.io"].preferred_version
    assert preferred is not None and preferred.group_version == "discovery.k8s.io/v1"
    kinds = {r.name: r.kind for r in k8s.DiscoveryV1Api(api_client).get_api_resources().resources}
    assert kinds == {"endpointslices": "EndpointSlice"}
    assert k8s.CoordinationV1Api(api_client).get_api_resources().resources[0].kind == "Lease"
    assert k8s.EventsV1Api(api_client).get_api_resources().group_version == "events.k8s.io/v1"
    for path in ("/apis/discovery.k8s.io", "/apis/discovery.k8s.io/v1/"):
        assert request(api_client, "GET", path)[0] == 200
    assert request(api_client, "GET", "/apis/apps/v1")[0] == 404


def test_health_endpoints(api_client: k8s.ApiClient) -> None:
    assert request(api_client, "GET", "/healthz") == (200, "ok")
    assert request(api_client, "GET", "/readyz")[0] == 200
