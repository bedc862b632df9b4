"""``ccm emulator openstack``: starts, prints a working cloud.conf, answers, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests

from tests.util import wait_for


def test_ccm_emulator_openstack_serves_until_terminated(tmp_path):
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "ccm.cli", "emulator", "openstack", "--port", "0",
                                 "--servers", "2"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        def banner() -> str | None:
            text = out.read_text()
            return text if "admin:" in text else None

        text = wait_for(banner, timeout=30, message=lambda: f"emulator banner (got {out.read_text()!r})")
        url = text.split("OpenStack emulator on ", 1)[1].split()[0]
        assert text.count("openstack:///") == 2
        assert f"auth-url = {url}/identity/v3" in text and "floating-network-id = " in text
        assert requests.get(f"{url}/_emulator/seed", timeout=5).json()["auth_url"] == f"{url}/identity/v3"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
