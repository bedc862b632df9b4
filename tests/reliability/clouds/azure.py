"""Azure on the ARM emulator (HTTPS, azure-mgmt-network): the fault plan as the emulator's fault injection.

:class:`PlanFaults` is the emulator's ``Faults`` with the plan in front: a throttled request gets
ARM's 429 ``TooManyRequests`` or a 503 (both with the emulator's ``Retry-After: 0``, which
the SDK honours; short runs), the
armed k-th mutating request that took effect is answered with an error instead (the emulator's
``applied`` hook), and every later request is refused. Like the GCE emulator, ARM's cannot tell
callers apart (one static bearer token), so the plan applies to the harness's reads too; the
harness treats a failed read as "not yet".

The cloud's own listing is the emulator's inventory (children of load balancers and of the
cluster's security group included) without the seeded world, plus the NICs' backend-pool
memberships: a NIC still in a deleted Service's pool is a leftover too.
"""

from __future__ import annotations

from typing import Any

from ccm.annotations import azure as azure_ann
from emulators.azure import AzureEmulator, Fault, Faults
from emulators.azure.faults import MUTATING_METHODS, Decision
from emulators.azure.ids import ResourceId
from providers.port import CloudProvider, ProviderContext
from tests.providers.azure.harness import CLUSTER, AzureWorld, build_world, options
from tests.reliability.clouds.base import Failure, FaultPlan, OnEmulator, node

_ERRORS = {
    Failure.THROTTLED: (429, "TooManyRequests", "The request is being throttled (injected by the fault plan)."),
    Failure.UNAVAILABLE: (503, "ServiceUnavailable", "The service is unavailable (injected by the fault plan)."),
    Failure.CRASHED: (400, "InjectedCrash", "the controller died after this call took effect"),
    Failure.FENCED: (400, "InjectedCrash", "the controller is dead"),
}


def _fault(failure: Failure) -> Fault:
    status, code, message = _ERRORS[failure]
    return Fault(status=status, code=code, message=message)


class PlanFaults(Faults):
    """The emulator's fault injection, deciding by the harness's :class:`FaultPlan` first."""

    def __init__(self, plan: FaultPlan) -> None:
        super().__init__()
        self.plan = plan

    def decide(self, method: str, path: str) -> Decision:
        out = super().decide(method, path)
        failure = self.plan.before()
        return out if failure is None else Decision(out.delay, _fault(failure))

    def applied(self, method: str, path: str, status: int) -> Fault | None:
        failure = self.plan.after(method in MUTATING_METHODS, ok=status < 400)
        return None if failure is None else _fault(failure)


class AzureFixture(OnEmulator):
    name = "azure"
    variants: dict[str, dict[str, str]] = {"public": {}, "internal": {azure_ann.LOAD_BALANCER_INTERNAL.key: "true"}}
    cluster = CLUSTER

    def __init__(self) -> None:
        self.faults = FaultPlan()
        # Retry-After: 0 on the emulator's own answers (LRO polls): the adapter honours it, tests stay fast
        self.emu = AzureEmulator(retry_after=0)
        self.emu.faults = PlanFaults(self.faults)
        self.world: AzureWorld | None = None
        self.seeded: set[str] = set()

    def start(self) -> None:
        self.emu.start()
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.world = build_world(self.emu, nodes=4)
        self.seeded = {i.lower() for i in self.emu.state.inventory()}

    def provider(self, cluster: str | None) -> CloudProvider:
        from providers.azure import create

        return create(ProviderContext(cluster_name=cluster or CLUSTER, options=options(
            self.emu, **{"azure-retry-total": "3"})))

    def _node(self, i: int) -> dict[str, Any]:
        assert self.world is not None
        vm = self.world.vms[i]
        return node(vm.name, vm.private_ip, vm.provider_id)

    def nodes(self) -> list[dict[str, Any]]:
        return [self._node(i) for i in range(3)]

    def spare_node(self) -> dict[str, Any]:
        return self._node(3)

    def list_all(self) -> list[str]:
        out = []
        for rid in self.emu.state.inventory():
            if rid.lower() in self.seeded:
                continue
            parsed = ResourceId.parse(rid)
            assert parsed is not None, rid
            out.append(f"{'/'.join(t for t, _ in parsed.path)} {'/'.join(n for _, n in parsed.path)}")
        for body in self.emu.state.dump().values():
            for cfg in (body.get("properties") or {}).get("ipConfigurations") or []:
                for pool in (cfg.get("properties") or {}).get("loadBalancerBackendAddressPools") or []:
                    lb, _, name = pool["id"].rsplit("/", 3)[-3:]
                    out.append(f"nic-pool-membership {body['name']}:{lb}/{name}")
        return sorted(out)

    def mutating_calls(self) -> int:
        return len(self.emu.calls.mutating())
