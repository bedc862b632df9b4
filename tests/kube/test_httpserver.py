"""HealthServer over real loopback HTTP."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import Counter

from ccm.kube.httpserver import HealthServer

PROBE = Counter("ccm_test_healthserver_probe_total", "A counter the /metrics test looks for.")


def fetch(server: HealthServer, path: str) -> tuple[int, str, str]:
    url = f"http://127.0.0.1:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode(), resp.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), err.headers["Content-Type"]


@pytest.fixture
def state() -> dict[str, tuple[bool, str]]:
    return {"ready": (False, "informers not synced")}


@pytest.fixture
def server(state) -> Iterator[HealthServer]:
    srv = HealthServer("127.0.0.1", 0, healthz=lambda: (True, ""), readyz=lambda: state["ready"])
    srv.start()
    yield srv
    srv.stop()


def test_port_zero_picks_a_port(server):
    assert server.port > 0


def test_metrics_serves_the_default_registry(server):
    PROBE.inc()
    status, body, ctype = fetch(server, "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain")
    assert "ccm_test_healthserver_probe_total 1.0" in body


def test_probes_answer_ok_or_503_with_reason(server, state):
    assert fetch(server, "/healthz")[:2] == (200, "ok")
    assert fetch(server, "/livez")[:2] == (200, "ok")
    assert fetch(server, "/readyz")[:2] == (503, "informers not synced")
    state["ready"] = (True, "")
    assert fetch(server, "/readyz")[:2] == (200, "ok")
    assert fetch(server, "/nope")[0] == 404


def test_raising_check_is_a_503_not_a_crash():
    def broken() -> tuple[bool, str]:
        raise RuntimeError("kaput")

    srv = HealthServer("127.0.0.1", 0, healthz=broken, readyz=None)
    srv.start()
    try:
        status, body, _ = fetch(srv, "/healthz")
        assert status == 503 and "kaput" in body
        assert fetch(srv, "/readyz")[0] == 200
    finally:
        srv.stop()


def test_stop_frees_the_port():
    srv = HealthServer("127.0.0.1", 0)
    srv.start()
    port = srv.port
    srv.stop()
    again = HealthServer("127.0.0.1", port)
    again.stop()
