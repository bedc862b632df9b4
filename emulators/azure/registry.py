"""The resource types the emulator serves (lower-cased ARM type -> kind), and api-versions."""

from __future__ import annotations

from .interfaces import NetworkInterfaceKind, VirtualMachineKind
from .kinds import Kind
from .loadbalancers import LoadBalancerKind
from .publicips import PublicIPAddressKind
from .securitygroups import NetworkSecurityGroupKind
from .vnets import VirtualNetworkKind

KINDS: dict[str, Kind] = {
    k.type.lower(): k
    for k in (
        LoadBalancerKind(),
        PublicIPAddressKind(),
        NetworkSecurityGroupKind(),
        NetworkInterfaceKind(),
        VirtualNetworkKind(),
        VirtualMachineKind(),
    )
}

#: api-versions accepted per resource-provider namespace (lower-cased). ARM answers any other
#: with 400 ``InvalidApiVersionParameter``; the SDK's default (azure-mgmt-network 33: 2026-03-01)
#: is the first entry.
API_VERSIONS: dict[str, tuple[str, ...]] = {
    "microsoft.network": (
        "2026-03-01", "2025-07-01", "2025-05-01", "2025-03-01", "2025-01-01", "2024-10-01",
        "2024-07-01", "2024-05-01", "2024-03-01", "2024-01-01", "2023-11-01", "2023-09-01",
        "2023-06-01", "2023-05-01", "2023-04-01", "2023-02-01", "2022-07-01",
    ),
    "microsoft.compute": (
        "2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01", "2023-07-01",
        "2023-03-01", "2022-11-01", "2022-08-01",
    ),
    "microsoft.resources": ("2025-04-01", "2024-11-01", "2024-03-01", "2023-07-01", "2022-09-01", "2021-04-01"),
}
