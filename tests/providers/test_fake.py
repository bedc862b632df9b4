"""The fake provider: recording, failure injection, gates, stable addresses, mutating counts."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from providers.fake import FakeCloud
from providers.port import (
    LoadBalancerRequest,
    Node,
    ProviderContext,
    ProviderWarning,
    RetryError,
    ServicePort,
)
from providers.registry import create_provider


def req(uid="uid-1", nodes=("n1",), port=80, **kw):
    return LoadBalancerRequest(cluster_name="c", namespace="ns", name=f"s-{uid}", uid=uid,
                               ports=(ServicePort("http", "TCP", port, 30080),),
                               nodes=tuple(Node(n) for n in nodes), **kw)


def test_registry_creates_fake_with_annotation_provider():
    cloud = create_provider("fake", ProviderContext("c", {"annotation-provider": "aws"}))
    assert isinstance(cloud, FakeCloud)
    assert cloud.annotation_provider == "aws" and FakeCloud.annotation_provider == "fake"
    assert create_provider("fake", ProviderContext()).annotation_provider == "fake"


def test_ensure_is_steady_and_counts_mutations():
    lb = FakeCloud().lb
    first = lb.ensure(req())
    ip = first.status.ingress[0].ip
    assert ip is not None
    assert ip.startswith("192.0.2.") and first.status.ingress[0].ports[0].port == 80
    assert lb.counter.totals()[0] == 1
    again = lb.ensure(req(current_ips=(ip,), nodes=("n1",)))
    assert again.status == first.status and lb.counter.totals()[0] == 1  # no-op
    lb.ensure(req(port=443))
    assert lb.counter.totals()[0] == 2
    assert lb.ensure(req(port=443)).status.ingress[0].ip == ip  # stable per uid
    assert [c.operation for c in lb.calls] == ["ensure"] * 4


def test_update_and_delete():
    lb = FakeCloud().lb
    lb.ensure(req())
    assert lb.update(req(nodes=("n1",))) == ()
    assert lb.counter.totals()[0] == 1
    lb.update(req(nodes=("n1", "n2")))
    stored = lb.stored("uid-1")
    assert stored is not None
    assert lb.counter.totals()[0] == 2 and stored.nodes == (Node("n1"), Node("n2"))
    assert lb.get(req()) is not None
    lb.delete(req())
    lb.delete(req())  # idempotent
    assert lb.get(req()) is None and lb.counter.totals()[0] == 3


def test_addresses_distinct_and_deterministic():
    a, b = FakeCloud().lb, FakeCloud().lb
    ips = {a.ensure(req(uid=f"u{i}")).status.ingress[0].ip for i in range(50)}
    assert len(ips) == 50
    st = a.get(req(uid="u7"))
    assert st is not None and b.ensure(req(uid="u7")).status.ingress[0].ip == st.ingress[0].ip


def test_fail_once_always_and_callable():
    lb = FakeCloud().lb
    lb.fail("ensure", RetryError("busy", 3))
    with pytest.raises(RetryError):
        lb.ensure(req())
    lb.ensure(req())
    lb.fail("get", RuntimeError("down"), times=None)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            lb.get(req())
    lb.clear_failures("get")
    assert lb.get(req()) is not None
    lb.fail("update", lambda r: ValueError("only n3") if any(n.name == "n3" for n in r.nodes) else None, times=None)
    lb.update(req(nodes=("n2",)))
    with pytest.raises(ValueError):
        lb.update(req(nodes=("n3",)))


def test_warnings_and_gate():
    lb = FakeCloud().lb
    lb.warn("ensure", ProviderWarning("CreateOnly", "x"))
    assert lb.ensure(req()).warnings == (ProviderWarning("CreateOnly", "x"),)
    gate = lb.hold("update", key="ns/s-uid-1")
    done = threading.Event()
    def call() -> None:
        lb.update(req(nodes=("n9",)))
        done.set()

    t = threading.Thread(target=call)
    t.start()
    assert gate.entered.wait(5)
    assert not done.is_set()
    gate.release()
    t.join(5)
    assert done.is_set()


def test_no_load_balancer_capability():
    assert FakeCloud(has_load_balancer=False).load_balancer() is None


def test_update_of_missing_load_balancer_is_a_no_op():
    lb = FakeCloud().lb
    lb.warn("update", ProviderWarning("W", "w"))
    assert lb.update(req()) == (ProviderWarning("W", "w"),)
    assert lb.counter.totals()[0] == 0 and lb.get(req()) is None


def test_fake_planning_follows_ensure_and_inventory_groups_by_service():
    cloud = FakeCloud()
    planner, inventory = cloud.planner(), cloud.inventory()
    req = LoadBalancerRequest(cluster_name="c", namespace="ns", name="web", uid="u1")
    assert [op.kind for op in planner.plan_offline(req)] == ["create"]
    assert [op.kind for op in planner.plan_live(req)] == ["create"]
    cloud.lb.ensure(req)
    assert planner.plan_live(req) == ()
    changed = planner.plan_live(dataclasses.replace(req, session_affinity="ClientIP"))
    assert [op.describe() for op in changed] == ["update fake/load-balancer au1: changed: session_affinity"]
    assert [r.service for r in inventory.list_owned()] == ["ns/web"]
    assert [r.service for r in inventory.delete_owned("ns/web")] == ["ns/web"]
    assert inventory.list_owned() == () and not cloud.lb.exists("u1")
