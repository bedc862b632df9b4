"""GCE operations: one Compute Engine call each, as typed frozen values (``providers.adapter.operations``).

A plan is a tuple of :class:`GceCall`; ``providers.gcp.apply`` is the only module that sends
them. Bodies are the REST JSON (camelCase, as the API documents and ``ccm plan`` prints), turned
into the SDK's messages only when sent. Nothing refers to an earlier call's result: GCE names
are chosen by us, so every reference is known when planning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers.adapter.operations import Kind, Operation
from providers.port import Resource

#: collection -> resource type as ``ccm plan`` prints it
TYPES = {
    "forwardingRules": "compute/forwarding-rule",
    "backendServices": "compute/region-backend-service",
    "healthChecks": "compute/region-health-check",
    "firewalls": "compute/firewall",
    "addresses": "compute/address",
    "instanceGroups": "compute/instance-group",
}
_KINDS = {"insert": Kind.CREATE, "delete": Kind.DELETE}


@dataclasses.dataclass(frozen=True, kw_only=True)
class GceCall(Operation):
    """``<collection>.<verb>`` on ``name``: ``scope`` is ``global``, ``region`` or a zone name."""

    collection: str
    verb: str  # insert | delete | patch | addInstances | removeInstances
    scope: str
    name: str
    body: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    summary: str = ""

    def detail(self) -> str:
        return self.summary

    def payload(self) -> Mapping[str, Any]:
        out: dict[str, Any] = {"method": f"{self.collection}.{self.verb}", "scope": self.scope}
        if self.body:
            out["body"] = self.body
        return out

    @property
    def zone(self) -> str | None:
        return None if self.scope in ("global", "region") else self.scope


def call(collection: str, verb: str, name: str, body: Mapping[str, Any] | None = None, *, scope: str = "region",
         summary: str = "") -> GceCall:
    label = f"{name} ({scope})" if scope not in ("global", "region") else name
    return GceCall(kind=_KINDS.get(verb, Kind.UPDATE), resource=Resource(TYPES[collection], label),
                   collection=collection, verb=verb, scope=scope, name=name, body=dict(body or {}), summary=summary)
