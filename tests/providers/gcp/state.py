"""What the emulator holds, read in process for assertions (never through the provider's counted clients)."""

from __future__ import annotations

from typing import Any

from emulators.gce import GceEmulator
from tests.providers.gcp.conftest import PROJECT, ZONES

GROUP = "k8s-ig--kubernetes"


class GceState:
    def __init__(self, emu: GceEmulator) -> None:
        self.emu = emu

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        """name -> resource for one kind (``forwardingRule``, ``firewall``, ...); zonal names get ``@zone``."""
        out = {}
        for r in self.emu.resources():
            if r["kind"] == f"compute#{kind}":
                zone = r.get("zone", "").rsplit("/", 1)[-1]
                out[r["name"] + (f"@{zone}" if zone else "")] = r
        return out

    def names(self) -> list[str]:
        return sorted(f"{r['kind'].split('#')[1]}/{r['name']}" for r in self.emu.resources())

    def members(self) -> dict[str, list[str]]:
        """zone -> instance names in the shared group (zones with a group only)."""
        groups = self.of("instanceGroup")
        return {z: sorted(u.rsplit("/", 1)[-1] for u in self.emu.members(PROJECT, z, GROUP))
                for z in ZONES if f"{GROUP}@{z}" in groups}

    def mutations(self) -> int:
        return len(self.emu.mutating_calls())
