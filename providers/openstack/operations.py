"""OpenStack operations: one openstacksdk call each, as typed frozen values.

Plans are tuples of :class:`OsCall`; ``providers.openstack.apply`` is the only module that sends
them. An Octavia call names the load balancer whose job it starts (``lb``): apply waits for that
load balancer to be ``ACTIVE`` again before the next call (gone, for a delete), so no call is
ever sent to a pending load balancer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers.adapter.operations import Kind, Operation, Ref, name_of
from providers.port import Resource

__all__ = ["FLOATING_IP", "HEALTH_MONITOR", "LISTENER", "LOAD_BALANCER", "MEMBERS", "POOL", "OsCall", "Ref", "call"]

LOAD_BALANCER = "octavia/load-balancer"
LISTENER = "octavia/listener"
POOL = "octavia/pool"
MEMBERS = "octavia/pool-members"
HEALTH_MONITOR = "octavia/health-monitor"
FLOATING_IP = "neutron/floating-ip"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OsCall(Operation):
    """``action`` on ``target`` (an id or a Ref) with ``params``; ``lb``: the job to wait for after it."""

    service: str  # "load-balancer" | "network"
    action: str
    target: Any = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    lb: Any = None
    summary: str = ""

    def detail(self) -> str:
        return self.summary

    def payload(self) -> Mapping[str, Any]:
        out: dict[str, Any] = {"service": self.service, "action": self.action}
        if self.target is not None:
            out["target"] = self.target
        if self.params:
            out["params"] = self.params
        return out


_KINDS = {"create": Kind.CREATE, "delete": Kind.DELETE}


def call(resource_type: str, resource: Any, service: str, action: str, *, target: Any = None,
         params: Mapping[str, Any] | None = None, lb: Any = None, summary: str = "",
         produces: str | None = None) -> OsCall:
    kind = _KINDS.get(action.split("_", 1)[0], Kind.UPDATE)
    return OsCall(kind=kind, resource=Resource(resource_type, name_of(resource)), service=service, action=action,
                  target=target, params=dict(params or {}), lb=lb, summary=summary, produces=produces)
