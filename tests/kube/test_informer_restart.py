"""Informer against an API server that restarts having lost its history (issue 8 item 6).

Backwards: the new server's resourceVersions are below the informer's resume point, so the
watch is answered "Too large resource version"; forward jump: they are far above it, so the
resume point is older than anything the new server has (410). Either way the informer must
relist from the server's latest state and deliver what changed - never keep a stale cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ccm.apiserver.server import APIServer
from ccm.apiserver.testing import EmbeddedAPIServer, embedded_apiserver
from ccm.kube.client import RawClient
from ccm.kube.informer import Informer
from ccm.kube.resources import SERVICES
from tests.util import wait_for

PATH = "/api/v1/namespaces/default/services"


def service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}], "selector": {"app": name}}}


def seeded(names: list[str], **options: Any) -> APIServer:
    """A fresh API server (as after a restart that lost everything) holding these Services."""
    server = APIServer(**options)
    services = next(s for s in server.strategies if s.plural == "services")
    for name in names:
        server.registry.create(services, "default", service(name))
    return server


@pytest.fixture
def running() -> Iterator[tuple[EmbeddedAPIServer, Informer, list[tuple[str, str]]]]:
    with embedded_apiserver() as server:
        api_client = server.api_client()
        client = RawClient(api_client)
        for name in ("a", "b"):
            client.create(PATH, service(name))
        for i in range(20):  # move the revision well past what a fresh server starts at
            client.patch(f"{PATH}/a", {"metadata": {"labels": {"i": str(i)}}}, "merge")
        calls: list[tuple[str, str]] = []
        inf = Informer(client, SERVICES, backoff_initial=0.01, backoff_max=0.2)
        inf.add_handler(on_add=lambda o: calls.append(("add", o["metadata"]["name"])),
                        on_update=lambda _, o: calls.append(("update", o["metadata"]["name"])),
                        on_delete=lambda o: calls.append(("delete", o["metadata"]["name"])))
        inf.start()
        try:
            assert inf.wait_for_sync(10)
            yield server, inf, calls
        finally:
            inf.stop()
            api_client.close()


def cached(inf: Informer) -> set[str]:
    return {o["metadata"]["name"] for o in inf.store.list()}


def test_restart_with_resource_versions_going_backwards(running) -> None:
    server, inf, calls = running
    assert cached(inf) == {"a", "b"}
    resume = int(inf.last_sync_resource_version)
    fresh = seeded(["c"])
    assert fresh.store.rv < resume
    server.restart(fresh)
    wait_for(lambda: cached(inf) == {"c"}, timeout=10, message=lambda: f"cache {cached(inf)}")
    assert ("delete", "a") in calls and ("delete", "b") in calls and ("add", "c") in calls
    assert inf.too_large_relists >= 1
    # and it keeps following the new server
    RawClient(server.api_client()).create(PATH, service("d"))
    wait_for(lambda: cached(inf) == {"c", "d"}, timeout=10, message=lambda: f"cache {cached(inf)}")


def test_restart_with_resource_versions_jumping_forward(running) -> None:
    server, inf, calls = running
    fresh = seeded(["a", "c"], start_revision=100_000)  # "a" is a new object with the same name
    server.restart(fresh)
    wait_for(lambda: cached(inf) == {"a", "c"} and int(inf.last_sync_resource_version) > 100_000, timeout=10,
             message=lambda: f"cache {cached(inf)} at {inf.last_sync_resource_version}")
    assert ("delete", "b") in calls and ("add", "c") in calls and ("update", "a") in calls
    uid = next(o for o in inf.store.list() if o["metadata"]["name"] == "a")["metadata"]["uid"]
    assert uid == next(e.obj for _, e in fresh.store.items("services"))["metadata"]["uid"]
