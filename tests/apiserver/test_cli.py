"""``ccm apiserver``: prints the kubeconfig, serves until interrupted, exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import kubernetes.client as k8s
import kubernetes.config

from tests.apiserver.conftest import Api, raw

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "ccm", "apiserver", "--port", "0", "--kubeconfig", str(kubeconfig),
                             "--allow-loopback-endpoints"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("export KUBECONFIG="):
                break
        assert f"export KUBECONFIG={kubeconfig}" in lines, lines
        client = kubernetes.config.new_client_from_config(str(kubeconfig))
        try:
            api: Api = k8s.DiscoveryV1Api(client)
            body = {"metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"]}]}
            out = raw(api.create_namespaced_endpoint_slice, "default", body)
            assert out["endpoints"][0]["addresses"] == ["127.0.0.1"]  # --allow-loopback-endpoints took effect
        finally:
            client.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
