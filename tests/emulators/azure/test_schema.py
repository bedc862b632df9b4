"""Request bodies are checked against azure-mgmt-network's models (unknown properties refused)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import models as m

from emulators.azure import AzureEmulator, schema

from .helpers import LOCATION, RG, error_code


@pytest.mark.parametrize(("body", "needle"), [
    pytest.param({"properties": {"frontendIPConfigurations": [{"name": "a", "properties": {"enableFloatingIp": True}}]}},
                 "enableFloatingIp: unknown property", id="misspelt-property"),
    pytest.param({"properties": {"probes": [{"name": "p", "properties": {"protocol": "TCPX", "port": 1}}]}},
                 "'TCPX' is not one of", id="enum"),
    pytest.param({"properties": {"loadBalancingRules": [{"name": "r", "properties": {"frontendPort": "80"}}]}},
                 "expected int", id="type"),
    pytest.param({"sku": "Standard"}, "expected an object", id="shape"),
])
def test_problems_found(body: dict[str, Any], needle: str) -> None:
    found = schema.problems(m.LoadBalancer, {"location": LOCATION, **body})
    assert any(needle in p for p in found), found


def test_sdk_built_bodies_and_read_only_echoes_fit() -> None:
    lb = m.LoadBalancer(location=LOCATION, sku=m.LoadBalancerSku(name="Standard"),
                        probes=[m.Probe(name="p", protocol="Tcp", port=30080)])
    body = lb.as_dict()
    body["etag"] = 'W/"x"'
    body["properties"]["provisioningState"] = "Succeeded"
    body["properties"]["probes"][0]["properties"]["loadBalancingRules"] = [{"id": "/x"}]
    assert schema.problems(m.LoadBalancer, body) == []
    assert "etag" not in schema.writable(m.LoadBalancer, body)
    assert "loadBalancingRules" not in schema.writable(m.LoadBalancer, body)["properties"]["probes"][0]["properties"]


def test_unknown_property_is_refused_over_the_wire_in_strict_mode_only(arm: AzureEmulator, net: Any) -> None:
    body = {"location": LOCATION, "sku": {"name": "Standard"},
            "properties": {"publicIPAllocationMethod": "Static", "idleTimeout": 4}}
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.begin_create_or_update(RG, "pip", body).result()
    assert error_code(e.value) == "InvalidRequestContent"
    assert "idleTimeout: unknown property of PublicIPAddressPropertiesFormat" in str(e.value)
    arm.state.strict = False
    got = net.public_ip_addresses.begin_create_or_update(RG, "pip", body).result()
    assert "idleTimeout" not in got.as_dict()["properties"]  # dropped, as ARM drops it
