"""The local cloud's operations: VIP allocations in the state file and listeners on the engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ccm.proxy.engine import ListenerConfig
from providers.adapter.operations import Kind, Operation
from providers.port import Resource

VIP = "local/vip"
LISTENER = "local/listener"

#: (port, protocol) on a VIP
ListenerKey = tuple[int, str]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AssignVip(Operation):
    """Record ``vip`` for the Service in the state file."""

    vip: str
    uid: str
    service: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseVip(Operation):
    """Forget the Service's allocation of ``vip``."""

    vip: str
    uid: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ListenerOp(Operation):
    """Open (create), reconfigure (update) or close (delete) one listener on a VIP."""

    vip: str
    port: int
    protocol: str
    config: ListenerConfig | None = None

    @property
    def key(self) -> ListenerKey:
        return (self.port, self.protocol)

    def detail(self) -> str:
        if self.config is None:
            return ""
        backends = ", ".join(f"{b.ip}:{b.port}" for b in self.config.backends) or "no healthy node"
        return f"to {backends}"

    def payload(self) -> Mapping[str, Any]:
        if self.config is None:
            return {}
        return {"backends": [f"{b.ip}:{b.port}" for b in self.config.backends],
                "source_ranges": list(self.config.source_ranges),
                "affinity_timeout": self.config.affinity_timeout,
                "send_proxy_protocol": self.config.send_proxy_protocol}


def assign_vip(vip: str, uid: str, service: str) -> AssignVip:
    return AssignVip(kind=Kind.CREATE, resource=Resource(VIP, vip), vip=vip, uid=uid, service=service)


def release_vip(vip: str, uid: str) -> ReleaseVip:
    return ReleaseVip(kind=Kind.DELETE, resource=Resource(VIP, vip), vip=vip, uid=uid)


def listener_op(kind: Kind, vip: str, key: ListenerKey, config: ListenerConfig | None = None) -> ListenerOp:
    return ListenerOp(kind=kind, resource=Resource(LISTENER, f"{vip}:{key[0]}/{key[1]}"), vip=vip, port=key[0],
                      protocol=key[1], config=config)
