"""The per-type interface: external (NetLB) and internal (ILB) passthrough load balancers.

Both are a regional backend service over the shared instance groups, a health check, one
forwarding rule per protocol and firewalls; they differ only in what this interface answers.
Nothing outside ``loadbalancer.KINDS`` lookups chooses between them.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from providers.gcp import links
from providers.gcp.config import GceConfig
from providers.gcp.names import health_check_firewall_name
from providers.gcp.settings import EXTERNAL, INTERNAL, Settings


class Scheme(abc.ABC):
    scheme: ClassVar[str]
    label: ClassVar[str]

    @abc.abstractmethod
    def rule_fields(self, settings: Settings, config: GceConfig) -> dict[str, Any]:
        """Forwarding-rule fields of this type (tier, subnetwork, global access)."""

    @abc.abstractmethod
    def address_fields(self, settings: Settings, config: GceConfig) -> dict[str, Any]:
        """Fields of the address reserved for the load balancer's IP."""

    def backend_fields(self, config: GceConfig) -> dict[str, Any]:
        return {}

    @abc.abstractmethod
    def health_check_firewall(self, lb: str, cluster: str, *, local: bool) -> str:
        """The name of the firewall admitting Google's health checkers."""

    @abc.abstractmethod
    def recreate_reason(self, observed: Mapping[str, Any], desired: Mapping[str, Any], settings: Settings) -> str | None:
        """Why an existing forwarding rule of this type must be rebuilt (create-only fields), or None."""

    def patch(self, observed: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
        """Fields of an existing rule that can be patched in place (empty: none differ)."""
        return {}


class External(Scheme):
    scheme = EXTERNAL
    label = "external passthrough load balancer"

    def rule_fields(self, settings: Settings, config: GceConfig) -> dict[str, Any]:
        return {"networkTier": settings.tier}

    def address_fields(self, settings: Settings, config: GceConfig) -> dict[str, Any]:
        return {"addressType": "EXTERNAL", "networkTier": settings.tier}

    def health_check_firewall(self, lb: str, cluster: str, *, local: bool) -> str:
        return health_check_firewall_name(lb, cluster, local=local, internal=False)

    def recreate_reason(self, observed: Mapping[str, Any], desired: Mapping[str, Any], settings: Settings) -> str | None:
        # upstream: only an explicit tier annotation forces the tier of an existing rule
        if settings.network_tier and observed.get("networkTier", "PREMIUM") != settings.network_tier:
            return f"network tier {observed.get('networkTier')} -> {settings.network_tier} (the IP changes)"
        return None


class Internal(Scheme):
    scheme = INTERNAL
    label = "internal passthrough load balancer"

    def _subnet(self, settings: Settings, config: GceConfig) -> str | None:
        name = settings.subnet or config.subnetwork
        return links.regional(config.project, config.region, "subnetworks", name) if name else None

    def rule_fields(self, settings: Settings, config: GceConfig) -> dict[str, Any]:
        out: dict[str, Any] = {"allowGlobalAccess": settings.global_access}
        subnet = self._subnet(settings, config)
        if subnet:
            out["subnetwork"] = subnet
        return out

    def address_fields(self, settings: Settings, config: GceConfig) -> dict[str, Any]:
        out: dict[str, Any] = {"addressType": "INTERNAL", "purpose": "SHARED_LOADBALANCER_VIP"}
        subnet = self._subnet(settings, config)
        if subnet:
            out["subnetwork"] = subnet
        return out

    def backend_fields(self, config: GceConfig) -> dict[str, Any]:
        return {"network": links.global_(config.project, "networks", config.network)}

    def health_check_firewall(self, lb: str, cluster: str, *, local: bool) -> str:
        return health_check_firewall_name(lb, cluster, local=local, internal=True)

    def recreate_reason(self, observed: Mapping[str, Any], desired: Mapping[str, Any], settings: Settings) -> str | None:
        want = desired.get("subnetwork")
        if want and links.path(str(observed.get("subnetwork", ""))) != want:
            return f"subnetwork {links.path(str(observed.get('subnetwork', '')))} -> {want} (the IP changes)"
        return None

    def patch(self, observed: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
        want = bool(desired.get("allowGlobalAccess"))
        return {"allowGlobalAccess": want} if bool(observed.get("allowGlobalAccess")) != want else {}


KINDS: Mapping[str, Scheme] = {EXTERNAL: External(), INTERNAL: Internal()}
