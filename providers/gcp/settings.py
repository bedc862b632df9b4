"""The only reader of ``request.annotations`` for GCP: the Service's settings as a frozen value."""

from __future__ import annotations

import dataclasses

from ccm.annotations import gcp as ann
from providers.port import ImplementedElsewhere, LoadBalancerRequest

EXTERNAL, INTERNAL = "EXTERNAL", "INTERNAL"


@dataclasses.dataclass(frozen=True)
class Settings:
    scheme: str  # EXTERNAL | INTERNAL
    #: PREMIUM | STANDARD when the annotation asks for one; None: the project default (Premium)
    network_tier: str | None = None
    global_access: bool = False
    #: the internal load balancer's subnet (annotation); None: the configured one
    subnet: str | None = None

    @property
    def internal(self) -> bool:
        return self.scheme == INTERNAL

    @property
    def tier(self) -> str:
        return self.network_tier or "PREMIUM"


def settings_from_request(request: LoadBalancerRequest) -> Settings:
    """Raises ImplementedElsewhere for ``cloud.google.com/l4-rbs: enabled`` (GKE's controller owns it)."""
    if request.annotation(ann.L4_RBS) == "enabled":
        raise ImplementedElsewhere(f"{request.key}: {ann.L4_RBS.key}=enabled hands the Service to GKE's controller")
    internal = request.annotation(ann.LOAD_BALANCER_TYPE) == "Internal"
    tier = request.annotation(ann.NETWORK_TIER)
    return Settings(
        scheme=INTERNAL if internal else EXTERNAL,
        network_tier=str(tier).upper() if tier else None,
        global_access=bool(request.annotation(ann.INTERNAL_LOAD_BALANCER_ALLOW_GLOBAL_ACCESS)),
        subnet=request.annotation(ann.INTERNAL_LOAD_BALANCER_SUBNET) or request.annotation(ann.LOAD_BALANCER_SUBNET),
    )
