"""``ccm node-proxy`` as a process: starts against the embedded API server, serves, stops on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.proxy import objects
from tests.proxy.helpers import free_port
from tests.util import wait_for


def test_node_proxy_command(tmp_path: Path) -> None:
    testing = pytest.importorskip("ccm.apiserver.testing")
    import kubernetes.client as k

    with testing.embedded_apiserver(allow_loopback_endpoints=True) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        api = server.api_client()
        core: Any = k.CoreV1Api(api)  # plain dict bodies
        core.create_node(objects.node("n1", ["127.0.1.1"]))
        api.close()
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                                 "--kubeconfig", str(kubeconfig), "--healthz-bind-address", f"127.0.0.1:{port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            def healthz() -> bytes:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"GET /livez HTTP/1.0\r\n\r\n")
                    return s.recv(4096)

            assert wait_for(healthz, timeout=20, message="node-proxy /livez").startswith(b"HTTP/1.0 200 OK")
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out.decode()
        assert b"n1: node proxy started" in out


def test_bad_flag_value_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                           "--kubeconfig", str(tmp_path / "none"), "--nodeport-addresses", "bogus"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "--nodeport-addresses: 'bogus' is neither a CIDR nor one of primary, localhost, all" in proc.stderr


def test_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                           "--kubeconfig", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "n1: cannot load the kubeconfig" in proc.stderr and "Traceback" not in proc.stderr
