"""``ccm controller`` start-up failures: one line naming what is wrong, a non-zero exit, no traceback."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.cli import main

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:%d"}}]
users: [{name: u, user: {}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % 1)
    return str(path)


def run(capsys, *argv: str) -> tuple[int, list[str]]:
    try:
        code = main(["controller", *argv])
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    lines = (captured.err + captured.out).splitlines()
    assert not any("Traceback" in line for line in lines), lines
    return code, lines


def one_error(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith("E") or ": error: " in line]
    assert len(errors) == 1, lines
    return errors[0]


def test_missing_kubeconfig(capsys):
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", "/nonexistent/kubeconfig")
    assert code == 1
    assert "cannot load the kubeconfig /nonexistent/kubeconfig:" in one_error(lines)


def test_kubeconfig_that_is_not_one(capsys, tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("this: [is not a kubeconfig\n")
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", str(bad))
    assert code == 1 and f"cannot load the kubeconfig {bad}:" in one_error(lines)


def test_unknown_provider(capsys, kubeconfig):
    code, lines = run(capsys, "--cloud-provider", "nimbus", "--kubeconfig", kubeconfig)
    assert code == 1 and "cannot create cloud provider 'nimbus': unknown cloud provider 'nimbus'" in one_error(lines)


def test_unknown_provider_option(capsys, kubeconfig):
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", kubeconfig, "--provider-option", "colour=x")
    assert code == 1 and "fake provider: unknown option colour" in one_error(lines)


def test_unknown_cloud_config_key(capsys, kubeconfig, tmp_path):
    conf = tmp_path / "cloud.conf"
    conf.write_text("[Global]\nVPC = vpc-1\nElbSecurityGroupp = sg-1\n")
    code, lines = run(capsys, "--cloud-provider", "aws", "--kubeconfig", kubeconfig, "--cloud-config", str(conf))
    assert code == 1 and f"{conf}: unknown key 'elbsecuritygroupp' in [Global]" in one_error(lines)


def test_missing_cloud_config(capsys, kubeconfig):
    code, lines = run(capsys, "--cloud-provider", "aws", "--kubeconfig", kubeconfig, "--cloud-config", "/nope.conf")
    assert code == 1 and "/nope.conf" in one_error(lines)


def test_bad_boolean_and_unknown_controller(capsys, kubeconfig):
    code, lines = run(capsys, "--cloud-provider", "fake", "--leader-elect=maybe")
    assert code == 2 and lines == ["ccm controller: error: argument --leader-elect: invalid boolean 'maybe': "
                                   "use true or false"]
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", kubeconfig, "--controllers=*,-nodeipam")
    assert code == 1 and '"nodeipam" is not in the list of known controllers' in one_error(lines)


def test_lock_type_and_tls_flags(capsys, kubeconfig):
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", kubeconfig,
                      "--leader-elect-resource-lock", "endpoints")
    assert code == 1 and "only leases is supported" in one_error(lines)
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", kubeconfig, "--tls-cert-file", "/x.crt")
    assert code == 1 and "--tls-cert-file and --tls-private-key-file must be given together" in one_error(lines)


def test_port_in_use_and_bad_bind_address(capsys, kubeconfig):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", kubeconfig, "--bind-address",
                          "127.0.0.1", "--secure-port", str(port))
    assert code == 1
    assert f"cannot serve on 127.0.0.1:{port} (--bind-address/--secure-port): Address already in use" in \
        one_error(lines)
    code, lines = run(capsys, "--cloud-provider", "fake", "--kubeconfig", kubeconfig, "--bind-address", "10.999.0.1")
    assert code == 1 and "cannot serve on 10.999.0.1:10258" in one_error(lines)


def test_version():
    for argv in (["--version"], ["controller", "--version"]):
        out = subprocess.run([sys.executable, "-m", "ccm", *argv], capture_output=True, text=True, timeout=30,
                             check=False)
        assert out.returncode == 0 and out.stdout.startswith("ccm v") and out.stderr == ""


def test_unreachable_api_server_is_retried_one_line_per_attempt(kubeconfig):
    proc = subprocess.Popen([sys.executable, "-m", "ccm", "controller", "--cloud-provider", "fake", "--kubeconfig",
                             kubeconfig, "--secure-port", "0", "--logging-format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    import json

    assert proc.stdout is not None
    attempts = []
    for line in proc.stdout:
        entry = json.loads(line)  # json mode: every stdout line is one JSON object
        if "not reachable" in entry["msg"]:
            attempts.append(entry["msg"])
        if len(attempts) == 2:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert attempts == ["API server http://127.0.0.1:1 not reachable (attempt 1, next in 1s): Connection refused",
                        "API server http://127.0.0.1:1 not reachable (attempt 2, next in 2s): Connection refused"]
    assert err == "" and all(json.loads(line) for line in out.splitlines())
