"""``--mode auto|nftables|userspace`` and ``--cleanup`` as processes: which data plane a node
proxy picks, and what it says. Each case runs in a scratch namespace (or as nobody)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proxy.nftables import netns

_why = netns.unavailable()
pytestmark = pytest.mark.skipif(_why is not None, reason=f"namespace tests: {_why}")

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def scratch() -> Iterator[str]:
    name = f"ccm{os.getpid() % 100000}m{os.urandom(2).hex()}"
    netns.ip("netns", "add", name)
    try:
        yield name
    finally:
        netns.ip("netns", "del", name)


def node_proxy(prefix: list[str], *args: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "ccm", "node-proxy", "--node-name", "n1",
                           "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_auto_without_privileges_falls_back_to_userspace_and_says_why(tmp_path: Path) -> None:
    out = node_proxy(NOBODY, "--mode", "auto", kubeconfig=tmp_path / "none")
    assert "--mode auto: nftables unavailable" in out.stderr and "Operation not permitted" in out.stderr
    assert "using userspace" in out.stderr and "Traceback" not in out.stderr
    assert out.returncode == 1  # then the missing kubeconfig, as in userspace mode


def test_nftables_without_privileges_is_a_clear_start_error(tmp_path: Path) -> None:
    out = node_proxy(NOBODY, "--mode", "nftables", kubeconfig=tmp_path / "none")
    assert out.returncode == 1
    assert "--mode nftables: cannot program nftables" in out.stderr and "Traceback" not in out.stderr


def test_userspace_mode_removes_tables_an_nftables_run_left(scratch: str, tmp_path: Path) -> None:
    exec_in = ["ip", "netns", "exec", scratch]
    subprocess.run([*exec_in, "nft", "add", "table", "ip", "ccm-proxy"], check=True)
    subprocess.run([*exec_in, "nft", "add", "table", "ip", "someone-else"], check=True)
    node_proxy(exec_in, "--mode", "userspace", kubeconfig=tmp_path / "none")
    tables = subprocess.run([*exec_in, "nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    assert "ccm-proxy" not in tables and "someone-else" in tables  # only ours

