"""``ccm apiserver`` with credentials from files, HTTPS, and kubeconfigs only the owner can read."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import kubernetes.client as k8s
import kubernetes.config

from ccm.apiserver.testing import embedded_apiserver

ROOT = Path(__file__).resolve().parents[2]


def test_kubeconfig_with_a_token_is_private(tmp_path: Path) -> None:
    """Issue 8 item 7: a kubeconfig holding a token was written 0644; also when it already existed so."""
    path = tmp_path / "kubeconfig"
    path.write_text("old")
    path.chmod(0o644)
    with embedded_apiserver(token="s3cret") as server:
        server.write_kubeconfig(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cret" in path.read_text()


def test_cli_reads_tokens_from_files_and_serves_https(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    users = tmp_path / "users.csv"
    users.write_text('viewer-token,viewer,u1,"viewers"\n')
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "ccm", "apiserver", "--port", "0", "--kubeconfig", str(kubeconfig),
                             "--token-file", str(token_file), "--token-auth-file", str(users), "--tls",
                             "--authorization-mode", "RBAC"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export KUBECONFIG="):
                break
        assert "from-a-file" not in " ".join(proc.args)  # nothing secret on the command line
        assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
        client = kubernetes.config.new_client_from_config(str(kubeconfig))
        try:
            assert client.configuration.host.startswith("https://")
            assert k8s.CoreV1Api(client).list_namespace().items  # the admin token from the file, over TLS
        finally:
            client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
