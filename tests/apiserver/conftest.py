"""Fixtures for the embedded API server's tests: typed API objects over the shared api_client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import kubernetes.client as k8s
import pytest

#: The official client's models are typed, but these tests send plain dicts (the JSON that
#: goes over the wire), so API objects are annotated loosely.
Api = Any


@pytest.fixture
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


@pytest.fixture
def discovery_api(api_client: k8s.ApiClient) -> k8s.DiscoveryV1Api:
    return k8s.DiscoveryV1Api(api_client)


def service_body(name: str = "web", type_: str = "ClusterIP", ports: list[dict[str, Any]] | None = None,
                 **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name},
                     "ports": ports if ports is not None else [{"port": 80}], **spec}}


@pytest.fixture
def make_service(core: Api) -> Callable[..., dict[str, Any]]:
    """Create a Service and return the server's JSON for it (a plain dict)."""

    def make(name: str = "web", type_: str = "ClusterIP", ports: list[dict[str, Any]] | None = None,
             namespace: str = "default", **spec: Any) -> dict[str, Any]:
        return raw(core.create_namespaced_service, namespace, service_body(name, type_, ports, **spec))

    return make


def api_error(exc: k8s.ApiException) -> dict[str, Any]:
    """The Status body of a failed call."""
    return json.loads(exc.body or "{}")


def raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call an official-client method and return the JSON the server sent (no model mapping)."""
    resp = call(*args, _preload_content=False, **kwargs)
    try:
        return json.loads(resp.data)
    finally:
        resp.release_conn()


def request(api_client: k8s.ApiClient, method: str, path: str, body: Any = None, *,
            content_type: str = "application/json",
            query: list[tuple[str, str]] | None = None) -> tuple[int, Any]:
    """A raw request through the official client's REST layer: (status, parsed JSON body or text)."""
    m, url, headers, payload, _ = api_client.param_serialize(
        method, path, query_params=query or [], header_params={"Content-Type": content_type,
                                                               "Accept": "application/json"},
        body=body, auth_settings=["BearerToken"])
    resp = api_client.call_api(m, url, header_params=headers, body=payload)
    data = resp.read()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, data.decode()
