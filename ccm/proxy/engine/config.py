"""Value objects describing one listener; immutable so the loop can swap them atomically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ccm.proxy.engine.ranges import SourceRanges

UNTRUSTED_PROXY_PROTOCOL = ("refuse", "use-peer")


@dataclass(frozen=True, slots=True)
class Backend:
    ip: str
    port: int


@dataclass(frozen=True)
class ListenerConfig:
    """What one listening address forwards to and how (see the package docstring)."""

    protocol: Literal["TCP", "UDP"]
    backends: tuple[Backend, ...]
    affinity_timeout: int | None = None
    source_ranges: tuple[str, ...] = ()
    accept_proxy_protocol: bool = False
    send_proxy_protocol: int | None = None
    connect_attempts: int = 4
    udp_idle_timeout: float = 30.0
    max_udp_flows: int = 10000
    max_connections: int = 0
    proxy_protocol_trusted: tuple[str, ...] = ()
    untrusted_proxy_protocol: Literal["refuse", "use-peer"] = "refuse"

    def __post_init__(self) -> None:
        if self.protocol not in ("TCP", "UDP"):
            raise ValueError(f"unsupported protocol {self.protocol!r}: the engine proxies TCP and UDP")
        if self.send_proxy_protocol not in (None, 1, 2):
            raise ValueError(f"send_proxy_protocol must be None, 1 or 2, not {self.send_proxy_protocol!r}")
        if self.connect_attempts < 1:
            raise ValueError("connect_attempts must be at least 1")
        if self.affinity_timeout is not None and self.affinity_timeout <= 0:
            raise ValueError("affinity_timeout must be positive (None turns affinity off)")
        if self.max_connections < 0:
            raise ValueError("max_connections must be 0 (no limit) or positive")
        if self.untrusted_proxy_protocol not in UNTRUSTED_PROXY_PROTOCOL:
            raise ValueError(f"untrusted_proxy_protocol must be one of {', '.join(UNTRUSTED_PROXY_PROTOCOL)}, "
                             f"not {self.untrusted_proxy_protocol!r}")
        SourceRanges(self.proxy_protocol_trusted)  # a CIDR that is not one fails here, not at listen()
