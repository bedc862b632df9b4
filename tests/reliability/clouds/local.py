"""The local cloud: VIPs in a state file and listeners in the controller's own process.

A controller instance's provider is a new ``LocalCloud`` on the same state file (what a new
process builds); stopping the instance closes its listeners, as a dying process's would close.
Its own listing reads the state file and the kernel's socket tables (``/proc/net``), not the
provider.
"""

from __future__ import annotations

import ipaddress
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from providers.local import create
from providers.port import CloudProvider, ProviderContext
from tests.reliability.clouds.base import FaultPlan, HookedCloud, Hooks, Traits, hooked_counter, node

_PROC = ("/proc/net/tcp", "/proc/net/udp")


def _listening(pool: ipaddress.IPv4Network) -> list[str]:
    """``listener ip:port/proto`` for every socket bound in ``pool`` (TCP in LISTEN, any UDP)."""
    out = []
    for path in _PROC:
        proto = "TCP" if path.endswith("tcp") else "UDP"
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            addr, port = fields[1].split(":")
            ip = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(addr), "little"))
            if ip in pool and (proto == "UDP" or fields[3] == "0A"):
                out.append(f"listener {ip}:{int(port, 16)}/{proto}")
    return sorted(out)


class LocalFixture(Traits):
    name = "local"
    plan_with_controller_cloud = True

    def __init__(self) -> None:
        self.faults = FaultPlan()
        a, b = random.randint(100, 250), random.randint(0, 255)  # parallel runs on one machine do not collide
        self.pool = ipaddress.IPv4Network(f"127.{a}.{b}.0/26")
        self.node_prefix = f"127.{a}.{(b + 1) % 256}"
        self.dir = Path(tempfile.mkdtemp(prefix="ccm-rel-local-"))
        self.state_file = self.dir / "state" / "vips.json"

    def start(self) -> None:
        self.reset()

    def stop(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def reset(self) -> None:
        self.faults.reset()
        self.state_file.unlink(missing_ok=True)

    def options(self) -> dict[str, str]:
        return {"vip-pool": str(self.pool), "state-file": str(self.state_file), "health-checks": "false"}

    def make_cloud(self, cluster: str | None = None) -> CloudProvider:
        cloud = create(ProviderContext(cluster or self.cluster, self.options()))
        hooks = Hooks(self.faults, cloud.lb.counter)
        hooked_counter(cloud.lb.counter, hooks)
        return HookedCloud(cloud, hooks, on_close=cloud.close)

    def make_probe(self, cluster: str | None = None) -> CloudProvider:
        raise NotImplementedError("the local cloud's state lives in the controller: plan with its provider")

    def nodes(self) -> list[dict[str, Any]]:
        return [node("node-a", f"{self.node_prefix}.1"), node("node-b", f"{self.node_prefix}.2")]

    def spare_node(self) -> dict[str, Any]:
        return node("node-c", f"{self.node_prefix}.3")

    def list_all(self) -> list[str]:
        try:
            allocations = json.loads(self.state_file.read_text()).get("allocations", {})
        except FileNotFoundError:
            allocations = {}
        return [f"vip {ip}" for ip in sorted(allocations)] + _listening(self.pool)

    def mutating_calls(self) -> int:
        return self.faults.mutations + self.faults.after_fence
