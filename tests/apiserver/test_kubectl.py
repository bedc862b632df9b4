"""kubectl (the real binary) against the embedded server: create, get -o yaml, describe, delete."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
SERVICE_YAML = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""

pytestmark = pytest.mark.skipif(not (KUBECTL.exists() or shutil.which("kubectl")), reason="kubectl not installed")


def test_kubectl_create_get_describe_delete(apiserver, tmp_path: Path) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(SERVICE_YAML)
    env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=str(tmp_path))
    binary = str(KUBECTL if KUBECTL.exists() else shutil.which("kubectl"))

    def kubectl(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=30, check=False)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    assert "service/web created" in kubectl("create", "-f", str(manifest)).stdout
    svc = yaml.safe_load(kubectl("get", "service", "web", "-o", "yaml").stdout)
    assert svc["kind"] == "Service" and svc["metadata"]["labels"] == {"app": "web"}
    assert svc["spec"]["ports"][0]["targetPort"] == 8080 and svc["spec"]["ports"][0]["nodePort"] >= 30000
    table = kubectl("get", "services").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table[1].split()[:4] == ["web", "LoadBalancer", svc["spec"]["clusterIP"], "<pending>"]
    described = kubectl("describe", "service", "web").stdout
    assert "Name:" in described and "web" in described
    assert f"IP:                       {svc['spec']['clusterIP']}" in described
    assert "Type:                     LoadBalancer" in described
    assert 'service "web" deleted' in kubectl("delete", "service", "web").stdout
    gone = kubectl("get", "service", "web", ok=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
