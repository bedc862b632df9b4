"""OpenStack on its emulator (Keystone, Octavia, Neutron, Nova over HTTP; openstacksdk): the fault plan as the
emulator's fault injection.

:class:`PlanFaults` is the emulator's ``Faults`` with the plan in front: a throttled call gets 429
with ``Retry-After: 0`` (keystoneauth honours it; short runs) or a 503, the armed k-th mutating call that took effect is answered with an
error instead (the emulator's ``applied`` hook), and every later call is refused. The plan applies
to the harness's reads too (the decision comes before authentication); a failed read is "not yet".
Keystone's token requests are not mutating (they change nothing in the cloud), as for the adapter.

The cloud's own listing is the emulator's ``resources()``: everything API calls made (Octavia's
tree, Neutron's floating IPs, ports and security groups), the seeded world left out.
"""

from __future__ import annotations

from typing import Any

from ccm.annotations import openstack as os_ann
from emulators.openstack.emulator import OpenStackEmulator
from emulators.openstack.errors import ApiError
from emulators.openstack.faults import Faults
from providers.port import CloudProvider, ProviderContext
from tests.providers.openstack.conftest import FAST
from tests.reliability.clouds.base import Failure, FaultPlan, OnEmulator, PlanInFront, node

CLUSTER = "kubernetes"
_ERRORS = {
    Failure.THROTTLED: (429, "Rate limit exceeded (injected by the fault plan), retry later."),
    Failure.UNAVAILABLE: (503, "The server is currently unavailable (injected by the fault plan)."),
    Failure.CRASHED: (400, "the controller died after this call took effect"),
    Failure.FENCED: (400, "the controller is dead"),
}


class PlanFaults(PlanInFront, Faults):
    """The emulator's fault injection, deciding by the harness's :class:`FaultPlan` first."""

    def error(self, failure: Failure) -> ApiError:
        status, message = _ERRORS[failure]
        return ApiError(message, status=status, headers={"Retry-After": "0"} if status == 429 else None)


class OpenStackFixture(OnEmulator):
    name = "openstack"
    variants: dict[str, dict[str, str]] = {"floating": {},
                                           "internal": {os_ann.INTERNAL_LOAD_BALANCER.key: "true"}}
    cluster = CLUSTER

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.emu = OpenStackEmulator(validate=True)
        self.emu.faults = PlanFaults(self.faults)
        self.servers: list[tuple[str, str, str]] = []  # (name, ip, server id)

    def start(self) -> None:
        for i in range(1, 5):
            name, ip = f"node-{i}", f"10.0.0.1{i}"
            self.servers.append((name, ip, self.emu.add_server(name, ip=ip)["id"]))
        self.emu.baseline()
        self.emu.start()


    def provider(self, cluster: str | None) -> CloudProvider:
        from providers.openstack import create, parse_cloud_config

        conf = parse_cloud_config(self.emu.cloud_conf(), "cloud.conf")
        return create(ProviderContext(cluster or CLUSTER, {**conf, **FAST}))

    def _node(self, i: int) -> dict[str, Any]:
        name, ip, server = self.servers[i]
        return node(name, ip, f"openstack:///{server}")

    def nodes(self) -> list[dict[str, Any]]:
        return [self._node(i) for i in range(3)]

    def spare_node(self) -> dict[str, Any]:
        return self._node(3)

    def list_all(self) -> list[str]:
        return sorted(f"{r['service']}/{r['kind']} {r['name'] or r['id']}" for r in self.emu.resources())

    def mutating_calls(self) -> int:
        return len(self.emu.mutating_calls())
