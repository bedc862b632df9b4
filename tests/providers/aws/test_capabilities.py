"""The optional capabilities against moto: planning (offline: no call; live: reads only) and inventory
(everything this cluster owns by tags and marks, grouped by Service; deletion of a Service key's)."""

from __future__ import annotations

import dataclasses

from ccm.annotations import aws as ann
from providers.port import ServicePort
from tests.providers.aws.requests import request
from tests.providers.aws.state import AwsState

NLB = {ann.TYPE.key: "nlb"}


def _actions(plan):
    return [op.to_json()["call"]["action"] for op in plan]


def test_offline_plan_needs_no_call_and_lists_every_create(cloud, world):
    planner = cloud.planner()
    before = cloud.counter.totals()
    clb_plan = planner.plan_offline(request(world))
    nlb_plan = planner.plan_offline(request(world, NLB))
    assert cloud.counter.totals() == before  # not a single request
    assert _actions(clb_plan) == [
        "create_security_group", "authorize_security_group_ingress", "create_load_balancer",
        "configure_health_check", "modify_load_balancer_attributes", "register_instances_with_load_balancer",
        "authorize_security_group_ingress"]
    assert clb_plan[-1].describe().startswith("update ec2/security-group <node security groups>: authorize tcp")
    assert "<sg>" in str(clb_plan[-1].to_json())  # the group the plan creates, by placeholder
    assert [op.kind for op in nlb_plan].count("create") == 5  # NLB, two target groups, two listeners
    assert all(op.describe() for op in nlb_plan)


def test_live_plan_reads_only_and_is_what_ensure_then_does(cloud, moto, world):
    planner, lb = cloud.planner(), cloud.load_balancer()
    req = request(world, NLB)
    before = cloud.counter.totals()
    first = planner.plan_live(req)
    assert cloud.counter.totals()[0] == before[0]  # reads only
    assert AwsState(moto).nlbs() == []
    lb.ensure(req)
    created = cloud.counter.totals()[0] - before[0]
    assert len(first) == created  # one call per planned operation
    assert planner.plan_live(req) == ()  # steady
    moved = dataclasses.replace(req, ports=(ServicePort("http", "TCP", 80, 30090),))
    assert [(op.kind, op.resource.type) for op in planner.plan_live(moved)] == [
        ("create", "elbv2/target-group"), ("update", "elbv2/target-group"), ("update", "elbv2/target-group"),
        ("update", "elbv2/listener"), ("delete", "elbv2/listener"),
        ("delete", "elbv2/target-group"), ("delete", "elbv2/target-group"),
        ("update", "ec2/security-group"), ("update", "ec2/security-group")]


def test_inventory_groups_by_service_and_deletes_a_keys_resources(cloud, moto, world):
    lb, inventory = cloud.load_balancer(), cloud.inventory()
    web = request(world)
    api = request(world, NLB, uid="5678abcd-0000-4000-8000-00000000beef", name="api")
    lb.ensure(web)
    lb.ensure(api)
    owned = inventory.by_service()
    assert set(owned) == {"default/web", "default/api"}
    assert sorted(r.resource.type for r in owned["default/web"]) == [
        "ec2/security-group", "ec2/security-group-rule", "ec2/security-group-rule", "elb/load-balancer"]
    assert sorted({r.resource.type for r in owned["default/api"]}) == [
        "ec2/security-group-rule", "elbv2/load-balancer", "elbv2/target-group"]
    deleted = inventory.delete_owned("default/api")
    assert {r.resource.type for r in deleted} == {"ec2/security-group-rule", "elbv2/load-balancer",
                                                   "elbv2/target-group"}
    assert set(inventory.by_service()) == {"default/web"}
    assert inventory.delete_owned("default/api") == ()  # idempotent
    inventory.delete_owned("default/web")
    assert inventory.list_owned() == ()
    assert AwsState(moto).nothing_left(world.node_sg) == []
