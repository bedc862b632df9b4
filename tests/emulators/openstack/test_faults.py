"""Fault injection, reset, inventory and the admin API."""

from __future__ import annotations

import time

import pytest
import requests
from openstack import exceptions

from tests.emulators.openstack.conftest import wait_active


def test_nth_mutation_fails_after_being_applied(emu, conn):
    emu.faults.fail_nth_mutation(1, 503, after_apply=True)
    with pytest.raises(exceptions.HttpException) as err:
        conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    assert err.value.status_code == 503
    assert [r["kind"] for r in emu.resources()] == ["floatingips"]  # applied: the client must find it again


def test_nth_mutation_fails_before_being_applied(emu, conn):
    emu.faults.fail_nth_mutation(2, 500)
    conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    with pytest.raises(exceptions.HttpException):
        conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    assert len(emu.resources()) == 2


def test_conflict_storm_and_throttling(emu, conn):
    lb = conn.load_balancer.create_load_balancer(vip_subnet_id=emu.seed.subnet_id)
    wait_active(conn, lb.id)
    emu.faults.conflict_storm(2)
    for _ in range(2):
        with pytest.raises(exceptions.ConflictException):
            conn.load_balancer.update_load_balancer(lb.id, description="x")
    conn.load_balancer.update_load_balancer(lb.id, description="x")
    emu.faults.throttle(1.0, actions="neutron.networks.list", retry_after=2)
    resp = conn.network.get("/networks", raise_exc=False, retriable_status_codes=[])
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "2")
    assert list(conn.load_balancer.load_balancers())  # other actions are untouched


def test_latency(emu, conn):
    emu.faults.delay(0.2, actions="octavia.loadbalancers.list")
    start = time.monotonic()
    list(conn.load_balancer.load_balancers())
    assert time.monotonic() - start >= 0.2


def test_reset_restores_the_baseline_and_keeps_tokens(emu, conn):
    conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    emu.faults.unavailable(5)
    emu.reset()
    assert emu.resources() == [] and emu.faults.active == []
    assert {s.name for s in conn.compute.servers()} == {"node-1", "node-2"}
    assert emu.call_counts()["keystone.tokens.create"] == 0


def test_admin_api(emu):
    seed = requests.get(f"{emu.url}/_emulator/seed", timeout=5).json()
    assert seed["subnet_id"] == emu.seed.subnet_id
    resp = requests.post(f"{emu.url}/_emulator/servers", json={"name": "node-9", "ip": "10.0.0.99"}, timeout=5)
    assert resp.status_code == 201
    server_id = resp.json()["id"]
    assert requests.post(f"{emu.url}/_emulator/servers/{server_id}/status", json={"status": "SHUTOFF"},
                         timeout=5).status_code == 200
    assert emu.cloud.compute.servers[server_id]["status"] == "SHUTOFF"
    assert requests.post(f"{emu.url}/_emulator/faults", json={"actions": "nova.*", "status": 503, "times": 1},
                         timeout=5).status_code == 201
    assert emu.faults.active[0].status == 503
    items = requests.get(f"{emu.url}/_emulator/resources", timeout=5).json()["items"]
    assert any(i["kind"] == "servers" and i["name"] == "node-9" for i in items)
    assert requests.post(f"{emu.url}/_emulator/faults", json={"bogus": 1}, timeout=5).status_code == 400
    assert requests.post(f"{emu.url}/_emulator/reset", timeout=5).status_code == 200
    assert server_id not in emu.cloud.compute.servers


def test_unknown_paths_and_methods(emu, conn):
    assert requests.get(f"{emu.url}/nothing", timeout=5).status_code == 404
    resp = conn.load_balancer.request("/lbaas/loadbalancers", "PATCH", raise_exc=False)
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]
