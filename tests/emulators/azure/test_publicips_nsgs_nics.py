"""Public IPs, network security groups and network interfaces."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from emulators.azure import AzureEmulator

from .helpers import LOCATION, RG, error_code, lb_body, lb_id, public_ip


def refused(call: Any, code: str) -> str:
    with pytest.raises(HttpResponseError) as e:
        call()
    assert error_code(e.value) == code, str(e.value)
    return str(e.value)


# ---- public IPs


def test_public_ips_get_distinct_stable_addresses_and_dns(arm: AzureEmulator, net: Any) -> None:
    a = public_ip(net, "a", dnsSettings={"domainNameLabel": "web-a"})
    b = public_ip(net, "b")
    assert a.ip_address != b.ip_address
    assert a.dns_settings.fqdn == f"web-a.{LOCATION}.cloudapp.azure.com"
    again = public_ip(net, "a")
    assert again.ip_address == a.ip_address and again.dns_settings is None
    refused(lambda: public_ip(net, "c", dnsSettings={"domainNameLabel": "Bad_Label"}), "InvalidDomainNameLabel")
    public_ip(net, "a", dnsSettings={"domainNameLabel": "taken"})
    refused(lambda: public_ip(net, "c", dnsSettings={"domainNameLabel": "taken"}), "DnsRecordInUse")


def test_public_ip_sku_rules(arm: AzureEmulator, net: Any) -> None:
    public_ip(net, "a", sku="Basic")
    refused(lambda: public_ip(net, "a", sku="Standard"), "PublicIPSkuCannotBeChanged")
    refused(lambda: public_ip(net, "b", sku="Standard", publicIPAllocationMethod="Dynamic"),
            "StandardSkuPublicIPAddressMustBeStatic")


# ---- security groups


def nsg(net: Any, *rules: dict[str, Any]) -> Any:
    body = {"location": LOCATION, "properties": {"securityRules": list(rules)}}
    return net.network_security_groups.begin_create_or_update(RG, "nsg", body).result()


def rule(name: str, priority: int = 500, **kw: Any) -> dict[str, Any]:
    p = {"protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": priority,
         "sourceAddressPrefix": "Internet", "sourcePortRange": "*",
         "destinationAddressPrefixes": ["203.0.113.1"], "destinationPortRange": "80"}
    p.update(kw)
    return {"name": name, "properties": {k: v for k, v in p.items() if v is not None}}


def test_nsg_rules_and_default_rules(arm: AzureEmulator, net: Any) -> None:
    got = nsg(net, rule("k8s-a", 500), rule("k8s-b", 500, direction="Outbound"))
    assert [r.name for r in got.security_rules] == ["k8s-a", "k8s-b"]
    assert {r.priority for r in got.default_security_rules} == {65000, 65001, 65500}
    assert got.security_rules[0].source_address_prefixes == []


@pytest.mark.parametrize(("bad", "code"), [
    ({"priority": 99}, "SecurityRuleInvalidPriority"),
    ({"priority": 4097}, "SecurityRuleInvalidPriority"),
    ({"sourceAddressPrefix": "10.0.0.0/33"}, "SecurityRuleInvalidAddressPrefix"),
    ({"destinationAddressPrefixes": ["10.0.0.1", "2001:db8::1"]}, "SecurityRuleInvalidAddressPrefix"),
    ({"sourceAddressPrefixes": ["1.2.3.4"]}, "SecurityRuleParametersMutuallyExclusive"),
    ({"destinationPortRange": "80-70"}, "SecurityRuleInvalidPortRange"),
    ({"destinationPortRange": "65536"}, "SecurityRuleInvalidPortRange"),
    ({"access": "Maybe"}, "SecurityRuleParameterContainsUnsupportedValue"),
])
def test_nsg_rule_validation(arm: AzureEmulator, net: Any, bad: dict[str, Any], code: str) -> None:
    arm.state.strict = False  # the model's own enum check would answer first for "access"
    refused(lambda: nsg(net, rule("r", **bad)), code)


def test_priorities_are_unique_per_direction(arm: AzureEmulator, net: Any) -> None:
    message = refused(lambda: nsg(net, rule("a", 500), rule("b", 500)), "SecurityRuleConflict")
    assert "Rules cannot have the same Priority and Direction" in message


def test_security_rule_child_put_and_delete(arm: AzureEmulator, net: Any) -> None:
    nsg(net, rule("a", 500))
    net.security_rules.begin_create_or_update(RG, "nsg", "b", rule("b", 501)).result()
    assert sorted(r.name for r in net.security_rules.list(RG, "nsg")) == ["a", "b"]
    refused(lambda: net.security_rules.begin_create_or_update(RG, "nsg", "c", rule("c", 501)).result(),
            "SecurityRuleConflict")
    net.security_rules.begin_delete(RG, "nsg", "a").result()
    assert [r.name for r in net.network_security_groups.get(RG, "nsg").security_rules] == ["b"]


# ---- network interfaces


def test_nic_pool_membership_is_checked(arm: AzureEmulator, net: Any, subnet_id: str) -> None:
    vm = arm.add_virtual_machine(RG, "node-0", subnet_id)
    nic = net.network_interfaces.get(RG, "node-0-nic")
    assert nic.virtual_machine.id == vm.id and nic.ip_configurations[0].private_ip_address == vm.private_ip
    nic.ip_configurations[0].load_balancer_backend_address_pools = [{"id": f"{lb_id(arm)}/backendAddressPools/x"}]
    refused(lambda: net.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result(),
            "InvalidResourceReference")
    pip = public_ip(net, "pip")
    body = lb_body(arm, frontends=[{"name": "a", "properties": {"publicIPAddress": {"id": pip.id}}}])
    body["properties"]["backendAddressPools"][0]["properties"] = {"loadBalancerBackendAddresses": [
        {"name": "n", "properties": {"ipAddress": "10.240.0.9", "subnet": {"id": subnet_id}}}]}
    net.load_balancers.begin_create_or_update(RG, "kubernetes", body).result()
    nic.ip_configurations[0].load_balancer_backend_address_pools = [
        {"id": f"{lb_id(arm)}/backendAddressPools/kubernetes"}]
    refused(lambda: net.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result(),
            "BackendAddressPoolCannotHaveIpConfigurationsAndIpAddresses")
    kept = net.network_interfaces.begin_create_or_update(RG, "node-0-nic", net.network_interfaces.get(RG, "node-0-nic")).result()
    assert kept.virtual_machine.id == vm.id  # read-only, survives a PUT that echoes it
    with pytest.raises(HttpResponseError):
        net.network_interfaces.begin_delete(RG, "node-0-nic").result()
