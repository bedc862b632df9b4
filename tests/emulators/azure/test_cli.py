"""``ccm emulator azure``: serves until interrupted and prints what a user needs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.util import wait_for


def test_ccm_emulator_azure_seeds_and_stops_on_sigint(tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccm.cli", "emulator", "azure", "--port", "0", "--seed", "--nodes", "1",
         "--cert-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    try:
        assert proc.stdout is not None

        def started() -> bool:
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]
            return "--azure-endpoint-url" in lines[-1]

        wait_for(started, timeout=60, message=lambda: "".join(lines))
        text = "".join(lines)
        assert "ARM emulator on https://127.0.0.1:" in text
        assert (tmp_path / "arm-emulator-ca.pem").exists() and (tmp_path / "azure.json").exists()
        assert "providerID azure:///subscriptions/" in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
