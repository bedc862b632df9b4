"""The embedded server's lifecycle: fast start, and nothing left behind after stop."""

from __future__ import annotations

import socket
import threading
import time

import kubernetes.client as k8s

from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import Api, raw, request, service_body
from tests.util import wait_for


def test_start_is_fast_and_stop_leaves_nothing_running() -> None:
    threads_before = set(threading.enumerate())
    t0 = time.perf_counter()
    with embedded_apiserver() as server:
        started = time.perf_counter() - t0
        host, port = server.url.removeprefix("http://").split(":")
        client = server.api_client()
        core: Api = k8s.CoreV1Api(client)
        raw(core.create_namespaced_service, "default", service_body("web"))
        # leave a watch open: stop must end it
        m, url, headers, _, _ = client.param_serialize("GET", "/api/v1/services", query_params=[("watch", "true")],
                                                       auth_settings=["BearerToken"])
        stream = client.rest_client.pool_manager.request(m, url, headers=headers, preload_content=False)
        wait_for(lambda: len(server.server.store.watchers()) == 1, timeout=5)
    assert started < 0.5
    assert b"ADDED" in stream.read()  # the stream ended cleanly when the server stopped
    stream.release_conn()
    client.close()
    assert set(threading.enumerate()) <= threads_before
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex((host, int(port))) != 0


def test_counters(apiserver, api_client: k8s.ApiClient, core: Api) -> None:
    requests, writes = apiserver.request_count(), apiserver.write_count()
    raw(core.create_namespaced_service, "default", service_body("web"))
    raw(core.patch_namespaced_service, "web", "default", {"metadata": {"labels": {"a": "b"}}})
    raw(core.read_namespaced_service, "web", "default")
    assert request(api_client, "POST", "/api/v1/namespaces/default/services", service_body("web"))[0] == 409
    raw(core.delete_namespaced_service, "web", "default")
    assert apiserver.write_count() == writes + 3  # failed and read-only requests do not count
    assert apiserver.request_count() == requests + 5
