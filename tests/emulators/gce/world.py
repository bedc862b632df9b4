"""Builders for emulator tests: one call makes a health check, group, backend service or rule and waits."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from google.cloud import compute_v1

from tests.emulators.gce.conftest import PROJECT, REGION, ZONES

P, R = PROJECT, REGION
DONE = compute_v1.Operation.Status.DONE


def wait(c: SimpleNamespace, op: compute_v1.Operation) -> compute_v1.Operation:
    if op.zone:
        return c.zops.wait(project=P, zone=op.zone.rsplit("/", 1)[-1], operation=op.name)
    if op.region:
        return c.rops.wait(project=P, region=R, operation=op.name)
    return c.gops.wait(project=P, operation=op.name)


def health_check(c: SimpleNamespace, name: str = "hc", port: int = 10256) -> str:
    body = compute_v1.HealthCheck(name=name, type_="HTTP", check_interval_sec=8, timeout_sec=1,
                                  http_health_check=compute_v1.HTTPHealthCheck(port=port, request_path="/healthz"))
    assert wait(c, c.hc.insert_unary(project=P, region=R, health_check_resource=body)).status == DONE
    return str(c.hc.get(project=P, region=R, health_check=name).self_link)


def group(c: SimpleNamespace, name: str = "ig", zone: str = ZONES[0], members: tuple[str, ...] = ()) -> str:
    wait(c, c.ig.insert_unary(project=P, zone=zone, instance_group_resource=compute_v1.InstanceGroup(name=name)))
    if members:
        req = compute_v1.InstanceGroupsAddInstancesRequest(instances=[
            compute_v1.InstanceReference(instance=f"projects/{P}/zones/{zone}/instances/{m}") for m in members])
        wait(c, c.ig.add_instances_unary(project=P, zone=zone, instance_group=name,
                                         instance_groups_add_instances_request_resource=req))
    return str(c.ig.get(project=P, zone=zone, instance_group=name).self_link)


def backend_service(c: SimpleNamespace, name: str = "bs", *, scheme: str = "EXTERNAL", protocol: str = "TCP",
                    hc: str | None = None, groups: tuple[str, ...] = (), **extra: Any) -> compute_v1.BackendService:
    body = compute_v1.BackendService(
        name=name, load_balancing_scheme=scheme, protocol=protocol, health_checks=[hc or health_check(c)],
        backends=[compute_v1.Backend(group=g, balancing_mode="CONNECTION") for g in groups], **extra)
    op = wait(c, c.bs.insert_unary(project=P, region=R, backend_service_resource=body))
    assert op.status == DONE and not op.error.errors, op
    return c.bs.get(project=P, region=R, backend_service=name)


def rule(c: SimpleNamespace, name: str, bs: str, **fields: Any) -> compute_v1.Operation:
    fields.setdefault("load_balancing_scheme", "EXTERNAL")
    body = compute_v1.ForwardingRule(name=name, backend_service=bs, **fields)
    return wait(c, c.fr.insert_unary(project=P, region=R, forwarding_rule_resource=body))
