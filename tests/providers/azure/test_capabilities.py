"""Planner, inventory and instances of the Azure provider, against the ARM emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ccm.annotations import azure as ann
from providers.azure.names import service_base
from providers.instances import InstanceNotFound
from providers.port import Node, NodeAddress
from tests.providers.azure.harness import CLUSTER, LOCATION, RG, AzureWorld, request


def test_plans_offline_and_live_match_what_ensure_sends(world: AzureWorld, cloud: Any, arm: Any) -> None:
    planner = cloud.planner()
    req = request(world, {ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "10"})
    calls = len(arm.calls.all())
    offline = planner.plan_offline(req)
    assert len(arm.calls.all()) == calls  # offline: no cloud call at all
    described = [op.describe().split(":")[0] for op in offline]
    assert described == [
        f"create azure/public-ip {RG}/{CLUSTER}-{service_base(req.uid)}",
        f"create azure/load-balancer {RG}/{CLUSTER}",
        f"update azure/network-interface {RG}/<nic of node-0>",
        f"update azure/network-interface {RG}/<nic of node-1>",
        f"update azure/network-security-group {RG}/kubernetes-nsg"]
    assert all(json.loads(json.dumps(op.to_json())) for op in offline)
    assert "<frontend-ip>" in json.dumps(offline[-1].to_json()) or offline[-1].to_json()["call"]["edit"]
    live = planner.plan_live(req)
    assert [op.describe().split(":")[0] for op in live][:2] == described[:2]
    assert arm.calls.mutating() == []
    cloud.load_balancer().ensure(req)
    assert planner.plan_live(req) == ()


def test_inventory_lists_by_service_and_deletes_what_a_gone_service_left(world: AzureWorld, cloud: Any) -> None:
    lb, inventory = cloud.load_balancer(), cloud.inventory()
    web = request(world)
    api = request(world, name="api", uid="99999999-0000-4000-8000-000000000009")
    lb.ensure(web)
    lb.ensure(api)
    grouped = inventory.by_service()
    assert set(grouped) == {"", "default/web", "default/api"}
    assert sorted(r.resource.type for r in grouped["default/web"]) == sorted([
        "azure/frontend-ip-configuration", "azure/load-balancing-rule", "azure/load-balancing-rule", "azure/probe",
        "azure/probe", "azure/public-ip", "azure/security-rule"])
    assert [r.resource.type for r in grouped[""]] == ["azure/load-balancer"]
    deleted = inventory.delete_owned("default/web")
    assert {r.service for r in deleted} == {"default/web"}
    assert set(inventory.by_service()) == {"", "default/api"}
    assert inventory.delete_owned("default/web") == ()
    inventory.delete_owned("default/api")
    assert inventory.list_owned() == () and world.ours() == []


def test_instances(world: AzureWorld, cloud: Any) -> None:
    instances = cloud.instances()
    vm = world.vms[0]
    node = world.node(vm)
    assert instances.instance_exists(node) and not instances.instance_shutdown(node)
    meta = instances.instance_metadata(node)
    assert meta.provider_id == vm.provider_id
    assert (meta.instance_type, meta.region) == ("Standard_D2s_v3", LOCATION)
    assert meta.node_addresses == (NodeAddress("InternalIP", vm.private_ip), NodeAddress("Hostname", vm.name))
    by_name = Node(name=vm.name)  # no providerID yet: found by name in the resource group
    assert instances.instance_metadata(by_name).provider_id == vm.provider_id
    world.stop_vm(vm)
    assert instances.instance_shutdown(node) and instances.instance_exists(node)
    ghost = Node(name="ghost", provider_id=vm.provider_id.replace(vm.name, "ghost"))
    assert not instances.instance_exists(ghost) and not instances.instance_shutdown(ghost)
    with pytest.raises(InstanceNotFound):
        instances.instance_metadata(ghost)
    with pytest.raises(ValueError):
        instances.instance_exists(Node(name="x", provider_id="aws:///us-east-1a/i-1"))
