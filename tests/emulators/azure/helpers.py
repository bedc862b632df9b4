"""Helpers for the ARM emulator tests: an SDK client with a static token, body builders."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.network import NetworkManagementClient

from emulators.azure import AzureEmulator

RG = "rg"
LOCATION = "eastus"


class StaticToken:
    """A credential that hands out one fixed bearer token (the emulator accepts any)."""

    def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
        return AccessToken("emulator-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("emulator-token", int(time.time()) + 3600)


def make_client(arm: AzureEmulator, **kw: Any) -> NetworkManagementClient:
    kw.setdefault("polling_interval", 0)
    kw.setdefault("retry_total", 2)
    kw.setdefault("retry_backoff_factor", 0.01)
    return NetworkManagementClient(StaticToken(), arm.subscription, base_url=arm.url,
                                   connection_verify=arm.ca_file, **kw)


def lb_id(arm: AzureEmulator, name: str = "kubernetes") -> str:
    return f"/subscriptions/{arm.subscription}/resourceGroups/{RG}/providers/Microsoft.Network/loadBalancers/{name}"


def public_ip(net: NetworkManagementClient, name: str, sku: str = "Standard", **props: Any) -> Any:
    body = {"location": LOCATION, "sku": {"name": sku},
            "properties": {"publicIPAllocationMethod": "Static" if sku == "Standard" else "Dynamic", **props}}
    return net.public_ip_addresses.begin_create_or_update(RG, name, body).result()


def lb_body(arm: AzureEmulator, *, name: str = "kubernetes", frontends: list[dict[str, Any]],
            rules: list[dict[str, Any]] | None = None, probes: list[dict[str, Any]] | None = None,
            pools: tuple[str, ...] = ("kubernetes",), sku: str = "Standard") -> dict[str, Any]:
    """A load balancer body; rules/probes name their frontend/pool/probe by short name."""
    base = lb_id(arm, name)
    out_rules = []
    for given in rules or []:
        r = dict(given)
        p: dict[str, Any] = {"protocol": r.pop("protocol", "Tcp"), "frontendPort": r.pop("port", 80),
                             "backendPort": r.pop("backend_port", r.get("backendPort", 80)),
                             "frontendIPConfiguration": {"id": f"{base}/frontendIPConfigurations/{r.pop('frontend')}"}}
        if "pool" in r:
            p["backendAddressPool"] = {"id": f"{base}/backendAddressPools/{r.pop('pool')}"}
        if "probe" in r:
            p["probe"] = {"id": f"{base}/probes/{r.pop('probe')}"}
        name_ = r.pop("name")
        p.update(r)
        out_rules.append({"name": name_, "properties": p})
    return {
        "location": LOCATION, "sku": {"name": sku},
        "properties": {
            "frontendIPConfigurations": frontends,
            "backendAddressPools": [{"name": n} for n in pools],
            "probes": probes or [],
            "loadBalancingRules": out_rules,
        },
    }


def error_code(exc: BaseException) -> str:
    err = getattr(exc, "error", None)
    return str(getattr(err, "code", "")) if err is not None else ""
