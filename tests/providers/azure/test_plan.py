"""Pure pieces of the Azure adapter: edits of shared resources, NSG priorities, names (no SDK, no emulator)."""

from __future__ import annotations

import pytest

from providers.adapter.ownership import Owner
from providers.azure.desired import ServiceParts
from providers.azure.edits import LoadBalancerEdit, NicEdit, is_empty
from providers.azure.names import belongs, description_of, service_base, service_child, vm_id_of
from providers.azure.security import RuleSpec, SecurityGroupEdit
from providers.port import UserError

UID = "1234abcd-0000-4000-8000-00000000beef"
BASE = service_base(UID)
OWNER = Owner("k", "ns/web")
LB_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/k"


def parts(port: int = 80) -> ServiceParts:
    fe = {"name": BASE, "properties": {"publicIPAddress": {"id": "/x/pip"}}}
    rule = {"name": f"{BASE}-TCP-{port}", "properties": {
        "protocol": "Tcp", "frontendPort": port, "backendPort": port,
        "frontendIPConfiguration": {"id": f"{LB_ID}/frontendIPConfigurations/{BASE}"}}}
    return ServiceParts(fe, (rule,), ())


def edit(p: ServiceParts | None) -> LoadBalancerEdit:
    return LoadBalancerEdit(lb_name="k", lb_id=LB_ID, location="eastus", cluster="k", uid=UID, owner=OWNER, pool="k",
                            parts=p)


def lb(*children: dict, tags: dict | None = None) -> dict:
    return {"name": "k", "id": LB_ID, "etag": "e1", "tags": {"k8s-azure-cluster-name": "k"} if tags is None else tags,
            "sku": {"name": "Standard"},
            "properties": {"frontendIPConfigurations": list(children), "backendAddressPools": [{"name": "k"}],
                           "loadBalancingRules": [], "probes": []}}


def test_lb_edit_creates_replaces_keeps_others_and_is_idempotent() -> None:
    created = edit(parts()).apply(None)
    assert created["tags"] == {"k8s-azure-cluster-name": "k"} and created["sku"]["name"] == "Standard"
    assert edit(parts()).apply(created) is created  # nothing to do: the same object back
    other = {"name": "their-frontend", "properties": {"subnet": {"id": "/x"}}}
    current = lb(other)
    after = edit(parts(443)).apply(current)
    assert [f["name"] for f in after["properties"]["frontendIPConfigurations"]] == ["their-frontend", BASE]
    assert [r["name"] for r in after["properties"]["loadBalancingRules"]] == [f"{BASE}-TCP-443"]
    removed = edit(None).apply(after)
    assert [f["name"] for f in removed["properties"]["frontendIPConfigurations"]] == ["their-frontend"]
    assert not is_empty(removed, "k") and is_empty(edit(None).apply(lb()), "k")
    assert edit(None).apply(None) is None


def test_lb_edit_refuses_a_load_balancer_without_our_tag() -> None:
    with pytest.raises(UserError) as e:
        edit(parts()).apply(lb(tags={}))
    assert e.value.reason == "ForeignLoadBalancer"


def test_a_failed_load_balancer_is_written_again() -> None:
    done = edit(parts()).apply(None)
    done["properties"]["provisioningState"] = "Failed"
    assert edit(parts()).apply(done) is not done


def test_nic_edit_joins_and_leaves_pools_case_insensitively() -> None:
    nic = {"id": "/n", "properties": {"ipConfigurations": [
        {"name": "c", "properties": {"primary": True, "loadBalancerBackendAddressPools": [{"id": "/A/pool"}]}}]}}
    assert NicEdit("/n", add=("/a/POOL",)).apply(nic) is nic
    joined = NicEdit("/n", add=("/b/pool",), remove=("/a/pool",)).apply(nic)
    assert joined["properties"]["ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"] == [
        {"id": "/b/pool"}]


def spec(name: str, deny: bool = False) -> RuleSpec:
    return RuleSpec(f"{BASE}-{name}", "*" if deny else "Tcp", "Deny" if deny else "Allow", ("Internet",),
                    ("203.0.113.1",), ("80",), description_of(OWNER))


def nsg(*rules: tuple[str, int, str]) -> dict:
    return {"name": "nsg", "properties": {"securityRules": [
        {"name": n, "properties": {"priority": p, "direction": d, "description": ""}} for n, p, d in rules]}}


def test_priorities_avoid_collisions_stay_put_and_deny_comes_last() -> None:
    current = nsg(("ssh", 500, "Inbound"), ("out", 501, "Outbound"), ("x", 502, "Inbound"))
    change = SecurityGroupEdit("nsg", UID, OWNER, (spec("TCP-Internet"), spec("deny-all", deny=True)))
    after = change.apply(current)
    got = {r["name"]: r["properties"]["priority"] for r in after["properties"]["securityRules"]}
    assert got[f"{BASE}-TCP-Internet"] == 501 and got[f"{BASE}-deny-all"] == 503  # 500, 502 taken inbound
    assert change.apply(after) is after
    again = SecurityGroupEdit("nsg", UID, OWNER, (spec("TCP-Internet"), spec("TCP-IPv4"),
                                                  spec("deny-all", deny=True))).apply(after)
    got = {r["name"]: r["properties"]["priority"] for r in again["properties"]["securityRules"]}
    assert got[f"{BASE}-TCP-Internet"] == 501 and got[f"{BASE}-TCP-IPv4"] == 503 and got[f"{BASE}-deny-all"] == 504
    cleared = SecurityGroupEdit("nsg", UID, OWNER, ()).apply(again)
    assert [r["name"] for r in cleared["properties"]["securityRules"]] == ["ssh", "out", "x"]


def test_a_rule_with_our_name_but_not_our_marks_is_foreign() -> None:
    current = nsg((f"{BASE}-TCP-Internet", 600, "Inbound"))
    with pytest.raises(UserError) as e:
        SecurityGroupEdit("nsg", UID, OWNER, (spec("TCP-Internet"),)).apply(current)
    assert e.value.reason == "ForeignLoadBalancer"
    assert SecurityGroupEdit("nsg", UID, OWNER, ()).apply(current) is current  # and never removed


def test_names() -> None:
    assert belongs(BASE, UID) and belongs(f"{BASE}-TCP-80", UID) and not belongs(f"{BASE}x", UID)
    assert service_child(f"{BASE}-subnet-TCP-80") == BASE and service_child("their-frontend") is None
    vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/node-0"
    assert vm_id_of("azure://" + vm) == vm and vm_id_of("aws:///zone/i-1") is None
