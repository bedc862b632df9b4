"""``ccm emulator gce`` for people: starts, serves the seeded world, stops on SIGTERM."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

from tests.emulators.gce.conftest import PROJECT, ZONES


def test_reset_returns_to_the_baseline_world(emu):
    emu.add_instance(PROJECT, ZONES[0], "late")
    assert "late" in {r["name"] for r in emu.resources(include_seeded=True)}
    emu.reset()
    names = {r["name"] for r in emu.resources(include_seeded=True)}
    assert "late" not in names and {"n1", "n2"} <= names


def test_ccm_emulator_gce_runs_until_terminated():
    proc = subprocess.Popen([sys.executable, "-m", "ccm", "emulator", "gce", "--port", "0", "--instances", "2",
                             "--project", "demo-proj"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert url, first
        with urllib.request.urlopen(f"{url.group(1)}/compute/v1/projects/demo-proj/zones/us-central1-b/instances/node-1",
                                    timeout=5) as resp:
            assert json.loads(resp.read())["status"] == "RUNNING"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
