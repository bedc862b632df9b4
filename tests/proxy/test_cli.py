"""``ccm node-proxy`` as a process: starts against the embedded API server, serves, stops on SIGTERM."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.proxy import objects
from tests.proxy.helpers import free_port, with_open_files_limit
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
        port, metrics_port = free_port(), free_port()
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        low = 256 if hard == resource.RLIM_INFINITY or hard > 256 else hard
        # started with a low soft limit, as under a default ulimit -n
        argv = with_open_files_limit([sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                                      "--kubeconfig", str(kubeconfig), "--healthz-bind-address",
                                      f"127.0.0.1:{port}", "--metrics-bind-address", f"127.0.0.1:{metrics_port}"],
                                     low, hard)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            def healthz() -> bytes:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"GET /livez HTTP/1.0\r\n\r\n")
                    return s.recv(4096)

            assert wait_for(healthz, timeout=20, message="node-proxy /livez").startswith(b"HTTP/1.0 200 OK")
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
                metrics = r.read().decode()
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out.decode()
        assert b"n1: node proxy started" in out
        if low < hard:  # raised to the hard limit at start, logged and exported
            soft = hard if hard != resource.RLIM_INFINITY else int(Path("/proc/sys/fs/nr_open").read_text())
            assert f"open-files limit (RLIMIT_NOFILE) soft {soft} (raised from {low})".encode() in out
            assert f'ccm_node_proxy_open_files_limit{{limit="soft"}} {float(soft)}' in metrics
        assert 'ccm_node_proxy_rejected_connections_total{reason="untrusted_proxy_protocol"} 0.0' in metrics


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--nodeport-addresses", "bogus", "--nodeport-addresses: 'bogus' is neither a CIDR nor one of primary, "
                                      "localhost, all"),
    ("--proxy-protocol-trusted-cidrs", "10.0.0.0/8,lb", "--proxy-protocol-trusted-cidrs: 'lb' is not a CIDR"),
    ("--metrics-bind-address", "10249", "--metrics-bind-address: '10249' is not ip:port"),
    ("--max-connections-per-listener", "-1", "-1 is negative (0 means no limit)"),
    ("--proxy-protocol-untrusted", "allow", "invalid choice: 'allow'"),
])
def test_bad_flag_value_exits_2(tmp_path: Path, flag: str, value: str, message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                           "--kubeconfig", str(tmp_path / "none"), flag, value],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                           "--kubeconfig", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "n1: cannot load the kubeconfig" in proc.stderr and "Traceback" not in proc.stderr
