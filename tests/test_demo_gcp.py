"""``ccm demo --provider gcp`` as a user runs it: a subprocess, checked through the emulator's REST API, then SIGINT."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from tests.test_demo import CloudDemo

READY = re.compile(r"Ctrl-C deletes the Services")
ENDPOINT = re.compile(r"GCE emulator endpoint: (http://127\.0\.0\.1:\d+)\s*$")
SERVICE_IP = re.compile(r"^\s+default/(hello-gce|hello-ilb): (\S+)\s*$")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_demo_gcp_builds_external_and_internal_load_balancers_and_removes_them_on_sigint() -> None:
    with CloudDemo("gcp", 3) as demo:
        out = demo.out
        out.wait_for(READY, timeout=60)
        text = "".join(out.lines)
        endpoint = out.wait_for(ENDPOINT, 1).group(1)
        ips = {m.group(1): m.group(2) for line in text.splitlines() if (m := SERVICE_IP.match(line))}
        assert set(ips) == {"hello-gce", "hello-ilb"}, text
        assert "no traffic flows" in text and f"curl -s {endpoint}/_emulator/resources" in text
        base = f"{endpoint}/compute/v1/projects/ccm-demo/regions/us-central1"
        rules = {(r["loadBalancingScheme"], r["IPProtocol"]): r for r in _get(f"{base}/forwardingRules")["items"]}
        assert set(rules) == {("EXTERNAL", "TCP"), ("EXTERNAL", "UDP"), ("INTERNAL", "TCP")}
        assert rules["EXTERNAL", "TCP"]["IPAddress"] == rules["EXTERNAL", "UDP"]["IPAddress"] == ips["hello-gce"]
        assert rules["EXTERNAL", "TCP"]["networkTier"] == "STANDARD"
        assert rules["INTERNAL", "TCP"]["IPAddress"] == ips["hello-ilb"] and rules["INTERNAL", "TCP"]["allowGlobalAccess"]
        groups = [g for z in "abc" for g in _get(
            f"{endpoint}/compute/v1/projects/ccm-demo/zones/us-central1-{z}/instanceGroups")["items"]]
        assert [g["size"] for g in groups] == [1, 1, 1]
        rest = demo.interrupt()
        assert "the emulator holds 0 load-balancing resources" in rest, rest
