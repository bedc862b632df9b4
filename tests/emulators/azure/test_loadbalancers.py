"""Load balancers: references, SKUs, frontends, rules, probes, pools and back-references."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from emulators.azure import AzureEmulator

from .helpers import RG, error_code, lb_body, lb_id, public_ip

PROBE = {"name": "a1-TCP-80", "properties": {"protocol": "Tcp", "port": 30080, "intervalInSeconds": 5,
                                             "numberOfProbes": 2}}
RULE = {"name": "a1-TCP-80", "frontend": "a1", "pool": "kubernetes", "probe": "a1-TCP-80",
        "enableFloatingIP": True, "enableTcpReset": True, "idleTimeoutInMinutes": 4}


def pip_frontend(pip: Any, name: str = "a1") -> dict[str, Any]:
    return {"name": name, "properties": {"publicIPAddress": {"id": pip.id}}}


def subnet_frontend(subnet_id: str, name: str = "a1", ip: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"subnet": {"id": subnet_id}}
    if ip:
        p.update(privateIPAllocationMethod="Static", privateIPAddress=ip)
    return {"name": name, "properties": p}


def put(net: Any, body: dict[str, Any], name: str = "kubernetes", **kw: Any) -> Any:
    return net.load_balancers.begin_create_or_update(RG, name, body, **kw).result()


def refused(net: Any, body: dict[str, Any], code: str, name: str = "kubernetes") -> str:
    with pytest.raises(HttpResponseError) as e:
        put(net, body, name)
    assert error_code(e.value) == code, str(e.value)
    return str(e.value)


def test_public_lb_with_rule_probe_and_back_references(arm: AzureEmulator, net: Any) -> None:
    pip = public_ip(net, "kubernetes-a1")
    lb = put(net, lb_body(arm, frontends=[pip_frontend(pip)], probes=[PROBE], rules=[RULE]))
    assert lb.provisioning_state == "Succeeded" and lb.sku.name == "Standard"
    fe = lb.frontend_ip_configurations[0]
    assert fe.id == f"{lb_id(arm)}/frontendIPConfigurations/a1"
    assert [r.id for r in fe.load_balancing_rules] == [f"{lb_id(arm)}/loadBalancingRules/a1-TCP-80"]
    assert [r.id for r in lb.probes[0].load_balancing_rules] == [lb.load_balancing_rules[0].id]
    rule = lb.load_balancing_rules[0]
    assert (rule.enable_floating_ip, rule.load_distribution, rule.disable_outbound_snat) == (True, "Default", False)
    assert net.public_ip_addresses.get(RG, "kubernetes-a1").ip_configuration.id == fe.id
    assert net.load_balancer_probes.get(RG, "kubernetes", "a1-TCP-80").port == 30080
    assert [r.name for r in net.load_balancer_load_balancing_rules.list(RG, "kubernetes")] == ["a1-TCP-80"]


@pytest.mark.parametrize("missing", ["probe", "pool", "frontend"])
def test_rule_references_must_exist_on_the_same_lb(arm: AzureEmulator, net: Any, missing: str) -> None:
    pip = public_ip(net, "pip")
    rule = {**RULE, missing: "nope"}
    message = refused(net, lb_body(arm, frontends=[pip_frontend(pip)], probes=[PROBE], rules=[rule]),
                      "InvalidResourceReference")
    assert "/nope referenced by resource" in message


def test_reference_to_another_lbs_probe_is_refused(arm: AzureEmulator, net: Any) -> None:
    pips = [public_ip(net, f"pip{i}") for i in range(2)]
    put(net, lb_body(arm, name="other", frontends=[pip_frontend(pips[0])], probes=[PROBE]), name="other")
    body = lb_body(arm, frontends=[pip_frontend(pips[1])], rules=[{**RULE, "probe": "x"}])
    body["properties"]["loadBalancingRules"][0]["properties"]["probe"] = {"id": f"{lb_id(arm, 'other')}/probes/a1-TCP-80"}
    refused(net, body, "InvalidResourceReference")


def test_standard_lb_needs_standard_public_ip_not_used_elsewhere(arm: AzureEmulator, net: Any) -> None:
    basic = public_ip(net, "basic", sku="Basic")
    refused(net, lb_body(arm, frontends=[pip_frontend(basic)]), "PublicIPAndLBSkuDoNotMatch")
    pip = public_ip(net, "std")
    put(net, lb_body(arm, name="first", frontends=[pip_frontend(pip)]), name="first")
    refused(net, lb_body(arm, frontends=[pip_frontend(pip)]), "PublicIPAddressInUse")
    refused(net, lb_body(arm, name="first", frontends=[pip_frontend(pip), pip_frontend(pip, "a2")]),
            "PublicIPReferencedByMultipleIPConfigs", name="first")


def test_public_ip_in_use_cannot_be_deleted_until_the_frontend_goes(arm: AzureEmulator, net: Any) -> None:
    pip = public_ip(net, "pip")
    put(net, lb_body(arm, frontends=[pip_frontend(pip)]))
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.begin_delete(RG, "pip").result()
    assert error_code(e.value) == "PublicIPAddressCannotBeDeleted"
    net.load_balancers.begin_delete(RG, "kubernetes").result()
    net.public_ip_addresses.begin_delete(RG, "pip").result()
    assert arm.state.inventory() == []


def test_internal_frontends_allocate_and_check_private_ips(arm: AzureEmulator, net: Any, subnet_id: str) -> None:
    lb = put(net, lb_body(arm, name="k-internal", frontends=[subnet_frontend(subnet_id, "a1"),
                                                             subnet_frontend(subnet_id, "a2", "10.240.0.50")]),
             name="k-internal")
    ips = {fe.name: (fe.private_ip_address, fe.private_ip_allocation_method) for fe in lb.frontend_ip_configurations}
    assert ips == {"a1": ("10.240.0.4", "Dynamic"), "a2": ("10.240.0.50", "Static")}
    again = put(net, lb_body(arm, name="k-internal", frontends=[subnet_frontend(subnet_id, "a1")]), name="k-internal")
    assert again.frontend_ip_configurations[0].private_ip_address == "10.240.0.4"  # dynamic IPs stick
    refused(net, lb_body(arm, name="k2", frontends=[subnet_frontend(subnet_id, "b", "10.240.0.4")]),
            "PrivateIPAddressInUse", name="k2")
    refused(net, lb_body(arm, name="k2", frontends=[subnet_frontend(subnet_id, "b", "10.9.9.9")]),
            "PrivateIPAddressNotInSubnet", name="k2")
    refused(net, lb_body(arm, name="k2", frontends=[subnet_frontend(subnet_id + "x", "b")]),
            "InvalidResourceReference", name="k2")


def test_public_and_private_frontends_do_not_mix(arm: AzureEmulator, net: Any, subnet_id: str) -> None:
    pip = public_ip(net, "pip")
    refused(net, lb_body(arm, frontends=[pip_frontend(pip), subnet_frontend(subnet_id, "a2")]),
            "LoadBalancerCannotHavePublicAndPrivateFrontendIPConfigurations")


def test_ha_ports_only_on_internal_standard(arm: AzureEmulator, net: Any, subnet_id: str) -> None:
    ha = {"name": "a1-HA", "frontend": "a1", "pool": "kubernetes", "protocol": "All", "port": 0, "backend_port": 0}
    put(net, lb_body(arm, name="i", frontends=[subnet_frontend(subnet_id)], rules=[ha]), name="i")
    pip = public_ip(net, "pip")
    refused(net, lb_body(arm, frontends=[pip_frontend(pip)], rules=[ha]),
            "LoadBalancingRuleWithProtocolAllAndPortZeroNotAllowed")
    refused(net, lb_body(arm, name="i", frontends=[subnet_frontend(subnet_id)],
                         rules=[ha, {**RULE, "name": "x", "probe": "p"}],
                         probes=[{**PROBE, "name": "p"}]), "LoadBalancingRulesUseSameFrontendIpConfigurationAndFrontendPort",
            name="i")


def test_rule_conflicts_and_ranges(arm: AzureEmulator, net: Any) -> None:
    pip = public_ip(net, "pip")
    fe = [pip_frontend(pip)]
    twin = {**RULE, "name": "twin"}
    refused(net, lb_body(arm, frontends=fe, probes=[PROBE], rules=[RULE, twin]),
            "LoadBalancingRulesUseSameFrontendIpConfigurationAndFrontendPort")
    a = {**RULE, "name": "a", "enableFloatingIP": False, "backend_port": 30080}
    b = {**RULE, "name": "b", "port": 81, "enableFloatingIP": False, "backend_port": 30080}
    refused(net, lb_body(arm, frontends=fe, probes=[PROBE], rules=[a, b]),
            "LoadBalancingRulesUseSameBackendPortWithoutFloatingIp")
    udp = {**RULE, "name": "u", "protocol": "Udp", "enableTcpReset": False}
    put(net, lb_body(arm, frontends=fe, probes=[PROBE], rules=[RULE, udp]))  # same port, other protocol
    message = refused(net, lb_body(arm, frontends=fe, probes=[PROBE], rules=[{**RULE, "idleTimeoutInMinutes": 101}]),
                      "InvalidParameter")
    assert "4-100" in message


@pytest.mark.parametrize(("probe", "code"), [
    ({"protocol": "Tcp", "port": 1, "requestPath": "/healthz"}, "InvalidProbe"),
    ({"protocol": "Http", "port": 1}, "InvalidProbe"),
    ({"protocol": "Http", "port": 1, "requestPath": "/", "intervalInSeconds": 4}, "InvalidParameter"),
    ({"protocol": "Tcp", "port": 0}, "InvalidParameter"),
])
def test_probe_rules(arm: AzureEmulator, net: Any, probe: dict[str, Any], code: str) -> None:
    pip = public_ip(net, "pip")
    refused(net, lb_body(arm, frontends=[pip_frontend(pip)], probes=[{"name": "p", "properties": probe}]), code)


def test_pool_in_use_by_nics_cannot_go(arm: AzureEmulator, net: Any, subnet_id: str) -> None:
    vm = arm.add_virtual_machine(RG, "node-0", subnet_id)
    pip = public_ip(net, "pip")
    put(net, lb_body(arm, frontends=[pip_frontend(pip)]))
    nic = net.network_interfaces.get(RG, "node-0-nic")
    nic.ip_configurations[0].load_balancer_backend_address_pools = [{"id": f"{lb_id(arm)}/backendAddressPools/kubernetes"}]
    net.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()
    pool = net.load_balancer_backend_address_pools.get(RG, "kubernetes", "kubernetes")
    assert [c.id for c in pool.backend_ip_configurations] == [vm.ip_configuration_id]
    refused(net, lb_body(arm, frontends=[pip_frontend(pip)], pools=()), "InUseBackendAddressPoolCannotBeDeleted")
    with pytest.raises(HttpResponseError) as e:
        net.load_balancers.begin_delete(RG, "kubernetes").result()
    assert error_code(e.value) == "InUseBackendAddressPoolCannotBeDeleted"


def test_ip_based_pool_via_child_put(arm: AzureEmulator, net: Any, subnet_id: str) -> None:
    pip = public_ip(net, "pip")
    lb = put(net, lb_body(arm, frontends=[pip_frontend(pip)]))
    vnet = subnet_id.split("/subnets/", maxsplit=1)[0]
    pool = {"properties": {"loadBalancerBackendAddresses": [
        {"name": "node-0", "properties": {"ipAddress": "10.240.0.4", "virtualNetwork": {"id": vnet}}}]}}
    got = net.load_balancer_backend_address_pools.begin_create_or_update(RG, "kubernetes", "kubernetes", pool).result()
    assert got.load_balancer_backend_addresses[0].ip_address == "10.240.0.4"
    after = net.load_balancers.get(RG, "kubernetes")
    assert after.etag != lb.etag and after.frontend_ip_configurations[0].name == "a1"
    bad = {"properties": {"loadBalancerBackendAddresses": [{"name": "x", "properties": {"ipAddress": "nope"}}]}}
    with pytest.raises(HttpResponseError) as e:
        net.load_balancer_backend_address_pools.begin_create_or_update(RG, "kubernetes", "kubernetes", bad).result()
    assert error_code(e.value) == "InvalidParameter"


def test_sku_cannot_change_and_children_need_unique_names(arm: AzureEmulator, net: Any) -> None:
    pip = public_ip(net, "pip", sku="Basic")
    put(net, lb_body(arm, frontends=[pip_frontend(pip)], sku="Basic"))
    refused(net, lb_body(arm, frontends=[], sku="Standard"), "LoadBalancerSkuCannotBeChanged")
    refused(net, lb_body(arm, frontends=[pip_frontend(pip)], sku="Basic", pools=("p", "P")), "DuplicateResourceName")
