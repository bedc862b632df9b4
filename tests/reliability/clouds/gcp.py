"""GCP on the Compute Engine emulator (real HTTP, google-cloud-compute): the fault plan as its fault injection.

The emulator's decisions come from :class:`PlanFaults`, the emulator's ``Faults`` with the plan
in front: throttled requests get 429 ``rateLimitExceeded`` or 503, the armed k-th mutating call
is applied and answered with an error, and later requests are refused. The emulator cannot tell
callers apart (anonymous credentials), so the plan applies to the harness's reads too; the
harness treats a failed read as "not yet".
"""

from __future__ import annotations

from typing import Any

from emulators.gce import GceEmulator
from emulators.gce.errors import for_status
from emulators.gce.faults import Decision, Faults
from providers.port import CloudProvider, ProviderContext
from tests.providers.gcp.conftest import CLUSTER, NODES, PROJECT, REGION, SPARE, ZONES, provider_id
from tests.reliability.clouds.base import Failure, FaultPlan, Traits, node

_STATUS = {Failure.THROTTLED: 429, Failure.UNAVAILABLE: 503, Failure.CRASHED: 400, Failure.FENCED: 400}
_MESSAGE = {Failure.CRASHED: "the controller died after this call took effect",
            Failure.FENCED: "the controller is dead"}


class PlanFaults(Faults):
    """The emulator's fault injection, deciding by the harness's :class:`FaultPlan` first."""

    def __init__(self, plan: FaultPlan) -> None:
        super().__init__()
        self.plan = plan

    def decide(self, method_id: str, mutating: bool) -> Decision:
        out = super().decide(method_id, mutating)
        failure = self.plan.before()
        if failure is not None:
            out.before = for_status(_STATUS[failure], _MESSAGE.get(failure))
            return out
        # the emulator applies what it accepted: count it now, and lose its answer if it is the k-th
        failure = self.plan.after(mutating)
        if failure is not None:
            out.after = for_status(_STATUS[failure], _MESSAGE.get(failure))
        return out


class GcpFixture(Traits):
    name = "gcp"
    cluster = CLUSTER
    metrics_name = "gce"  # upstream's cloudprovider_gce_api_* metrics

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.emu = GceEmulator()
        self.emu.faults = PlanFaults(self.faults)

    def start(self) -> None:
        self.emu.add_project(PROJECT, REGION, ZONES)
        self.emu.add_subnetwork(PROJECT, REGION, "ilb-subnet", "10.30.0.0/24")
        for zone, name in NODES + SPARE:
            self.emu.add_instance(PROJECT, zone, name, tags=["k8s-node"])
        self.emu.baseline()
        self.emu.start()

    def stop(self) -> None:
        self.emu.stop()

    def reset(self) -> None:
        self.emu.reset()
        self.faults.reset()

    def make_cloud(self, cluster: str | None = None) -> CloudProvider:
        return self._provider(cluster)

    def make_probe(self, cluster: str | None = None) -> CloudProvider:
        return self._provider(cluster)

    def _provider(self, cluster: str | None) -> CloudProvider:
        from providers.gcp import create

        return create(ProviderContext(cluster_name=cluster or CLUSTER, options={
            "gcp-endpoint-url": self.emu.url, "gcp-project": PROJECT, "gcp-region": REGION}))

    def nodes(self) -> list[dict[str, Any]]:
        return [node(name, "10.128.0.99", provider_id(zone, name)) for zone, name in NODES]

    def spare_node(self) -> dict[str, Any]:
        zone, name = SPARE[0]
        return node(name, "10.128.0.98", provider_id(zone, name))

    def list_all(self) -> list[str]:
        out = []
        for r in self.emu.resources():
            zone = r.get("zone", "").rsplit("/", 1)[-1]
            out.append(f"{r['kind'].split('#')[1]} {r['name']}" + (f"@{zone}" if zone else ""))
        return sorted(out)

    def mutating_calls(self) -> int:
        return len(self.emu.mutating_calls())
