"""Octavia through openstacksdk: pending jobs, 409 while pending, cascade delete, batch members, rules."""

from __future__ import annotations

import pytest
from openstack import exceptions

from tests.emulators.openstack.conftest import wait_active


def _lb(emu, conn, **kw):
    lb = conn.load_balancer.create_load_balancer(name=kw.pop("name", "lb"), vip_subnet_id=emu.seed.subnet_id, **kw)
    wait_active(conn, lb.id)
    return lb


def _listener(conn, lb, **kw):
    kw.setdefault("protocol", "TCP")
    kw.setdefault("protocol_port", 80)
    listener = conn.load_balancer.create_listener(loadbalancer_id=lb.id, **kw)
    wait_active(conn, lb.id)
    return listener


def _pool(conn, lb, listener, **kw):
    kw.setdefault("protocol", "TCP")
    kw.setdefault("lb_algorithm", "ROUND_ROBIN")
    pool = conn.load_balancer.create_pool(listener_id=listener.id, **kw)
    wait_active(conn, lb.id)
    return pool


def test_create_is_pending_then_active_on_a_later_read_with_an_octavia_vip_port(emu, conn):
    lb = conn.load_balancer.create_load_balancer(name="web", vip_subnet_id=emu.seed.subnet_id, tags=["t1"])
    assert lb.provisioning_status == "PENDING_CREATE"
    assert lb.operating_status == "OFFLINE"
    port = conn.network.get_port(lb.vip_port_id)
    assert port.device_owner == "Octavia" and port.name == f"octavia-lb-{lb.id}"
    assert port.fixed_ips == [{"subnet_id": emu.seed.subnet_id, "ip_address": lb.vip_address}]
    again = conn.load_balancer.get_load_balancer(lb.id)
    assert (again.provisioning_status, again.operating_status, again.tags) == ("ACTIVE", "ONLINE", ["t1"])
    assert again.provider == "amphora"


def test_every_mutation_is_refused_with_409_while_the_load_balancer_is_pending(emu, conn):
    lb = _lb(emu, conn)
    emu.octavia_settings.hold = True
    listener = conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="TCP", protocol_port=80)
    assert conn.load_balancer.get_load_balancer(lb.id).provisioning_status == "PENDING_UPDATE"
    with pytest.raises(exceptions.ConflictException, match=f"Load Balancer {lb.id} is immutable"):
        conn.load_balancer.create_pool(listener_id=listener.id, protocol="TCP", lb_algorithm="ROUND_ROBIN")
    with pytest.raises(exceptions.ConflictException, match=f"Load Balancer {lb.id} is immutable"):
        conn.load_balancer.update_load_balancer(lb.id, description="x")
    with pytest.raises(exceptions.ConflictException, match="Invalid state PENDING_UPDATE"):
        conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
    emu.octavia_settings.hold = False
    assert wait_active(conn, lb.id).provisioning_status == "ACTIVE"
    assert conn.load_balancer.get_listener(listener.id).provisioning_status == "ACTIVE"


def test_settle_reads_and_seconds_keep_a_job_pending_longer(emu, conn):
    emu.octavia_settings.settle_reads = 3
    lb = conn.load_balancer.create_load_balancer(vip_subnet_id=emu.seed.subnet_id)
    statuses = [conn.load_balancer.get_load_balancer(lb.id).provisioning_status for _ in range(3)]
    assert statuses == ["PENDING_CREATE", "PENDING_CREATE", "ACTIVE"]


def test_delete_needs_cascade_when_there_are_children_and_removes_the_vip_port(emu, conn):
    lb = _lb(emu, conn)
    listener = _listener(conn, lb)
    _pool(conn, lb, listener)
    with pytest.raises(exceptions.BadRequestException, match="it has children"):
        conn.load_balancer.delete_load_balancer(lb.id)
    conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
    conn.load_balancer.wait_for_delete(lb, interval=0.005, wait=10)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_port(lb.vip_port_id)
    assert emu.resources() == []


def test_a_user_supplied_vip_port_is_kept_when_the_load_balancer_goes(emu, conn):
    port = conn.network.create_port(network_id=emu.seed.network_id, name="my-vip")
    lb = conn.load_balancer.create_load_balancer(vip_port_id=port.id)
    assert lb.vip_address == port.fixed_ips[0]["ip_address"]
    wait_active(conn, lb.id)
    conn.load_balancer.delete_load_balancer(lb.id)
    conn.load_balancer.wait_for_delete(lb, interval=0.005, wait=10)
    assert conn.network.get_port(port.id).name == "my-vip"


def test_fully_populated_create_makes_the_whole_tree_in_one_job(emu, conn):
    lb = conn.load_balancer.create_load_balancer(
        name="full", vip_subnet_id=emu.seed.subnet_id,
        listeners=[{"name": "l80", "protocol": "TCP", "protocol_port": 80, "default_pool": {
            "name": "p80", "protocol": "TCP", "lb_algorithm": "SOURCE_IP_PORT",
            "members": [{"address": "10.0.0.11", "protocol_port": 30080}],
            "healthmonitor": {"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2}}}])
    lb = wait_active(conn, lb.id)
    [listener] = conn.load_balancer.listeners(loadbalancer_id=lb.id)
    pool = conn.load_balancer.get_pool(listener.default_pool_id)
    assert pool.name == "p80" and pool.health_monitor_id
    [member] = conn.load_balancer.members(pool)
    assert (member.address, member.protocol_port, member.operating_status) == ("10.0.0.11", 30080, "ONLINE")
    assert {r["kind"] for r in emu.resources()} == {"loadbalancers", "listeners", "pools", "members",
                                                    "healthmonitors", "ports"}


def test_batch_member_update_creates_updates_and_deletes_in_one_call(emu, conn):
    lb = _lb(emu, conn)
    pool = _pool(conn, lb, _listener(conn, lb))
    for addr in ("10.0.0.11", "10.0.0.12"):
        conn.load_balancer.create_member(pool, address=addr, protocol_port=30080)
        wait_active(conn, lb.id)
    resp = conn.load_balancer.put(f"/lbaas/pools/{pool.id}/members", json={"members": [
        {"address": "10.0.0.12", "protocol_port": 30080, "weight": 5},
        {"address": "10.0.0.13", "protocol_port": 30080}]})
    assert resp.status_code == 202
    states = {m.address: m.provisioning_status for m in conn.load_balancer.members(pool)}
    assert states == {"10.0.0.12": "ACTIVE", "10.0.0.13": "ACTIVE"}
    assert {m.address: m.weight for m in conn.load_balancer.members(pool)} == {"10.0.0.12": 5, "10.0.0.13": 1}
    resp = conn.load_balancer.put(f"/lbaas/pools/{pool.id}/members?additive_only=true",
                                  json={"members": [{"address": "10.0.0.14", "protocol_port": 30080}]})
    assert resp.status_code == 202
    wait_active(conn, lb.id)
    assert sorted(m.address for m in conn.load_balancer.members(pool)) == ["10.0.0.12", "10.0.0.13", "10.0.0.14"]


@pytest.mark.parametrize(("kwargs", "status", "message"), [
    pytest.param({"protocol": "TERMINATED_HTTPS", "protocol_port": 443}, 400, "certificate container reference",
                 id="terminated-https-needs-a-certificate"),
    pytest.param({"protocol": "TERMINATED_HTTPS", "protocol_port": 443,
                  "default_tls_container_ref": "https://barbican/v1/containers/nope"}, 400,
                 "Could not retrieve certificate", id="unknown-certificate"),
    pytest.param({"insert_headers": {"X-Forwarded-For": "true"}}, 400, "not supported for TCP listeners",
                 id="headers-on-tcp"),
    pytest.param({"allowed_cidrs": ["2001:db8::/64"]}, 400, "IP version incompatible", id="cidr-family"),
    pytest.param({"protocol_port": 0}, 400, "greater or equal to 1", id="port-range"),
])
def test_listener_rules(emu, conn, kwargs, status, message):
    lb = _lb(emu, conn)
    kwargs = {"protocol": "TCP", "protocol_port": 80, **kwargs}
    with pytest.raises(exceptions.HttpException, match=message) as err:
        conn.load_balancer.create_listener(loadbalancer_id=lb.id, **kwargs)
    assert err.value.status_code == status
    assert conn.load_balancer.get_load_balancer(lb.id).provisioning_status == "ACTIVE"


def test_duplicates_conflict_but_tcp_and_udp_may_share_a_port(emu, conn):
    lb = _lb(emu, conn)
    listener = _listener(conn, lb)
    with pytest.raises(exceptions.ConflictException, match="already using protocol_port 80"):
        conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="HTTP", protocol_port=80)
    _listener(conn, lb, protocol="UDP")
    pool = _pool(conn, lb, listener)
    with pytest.raises(exceptions.ConflictException, match="already has a default pool"):
        conn.load_balancer.create_pool(listener_id=listener.id, protocol="TCP", lb_algorithm="ROUND_ROBIN")
    conn.load_balancer.create_member(pool, address="10.0.0.11", protocol_port=30080)
    wait_active(conn, lb.id)
    with pytest.raises(exceptions.ConflictException, match=r"already using ip 10\.0\.0\.11"):
        conn.load_balancer.create_member(pool, address="10.0.0.11", protocol_port=30080)


def test_pool_and_monitor_rules(emu, conn):
    lb = _lb(emu, conn)
    udp = _listener(conn, lb, protocol="UDP", protocol_port=53)
    with pytest.raises(exceptions.BadRequestException, match="pool protocol 'TCP' is invalid"):
        conn.load_balancer.create_pool(listener_id=udp.id, protocol="TCP", lb_algorithm="ROUND_ROBIN")
    pool = _pool(conn, lb, udp, protocol="UDP")
    with pytest.raises(exceptions.BadRequestException, match="delay value 1 should be larger"):
        conn.load_balancer.create_health_monitor(pool_id=pool.id, type="UDP-CONNECT", delay=1, timeout=2,
                                                 max_retries=2)
    with pytest.raises(exceptions.BadRequestException, match="url_path is not a valid option"):
        conn.load_balancer.create_health_monitor(pool_id=pool.id, type="TCP", delay=5, timeout=2, max_retries=2,
                                                 url_path="/healthz")
    hm = conn.load_balancer.create_health_monitor(pool_id=pool.id, type="HTTP", delay=5, timeout=2, max_retries=2)
    assert (hm.http_method, hm.url_path, hm.expected_codes, hm.max_retries_down) == ("GET", "/", "200", 3)
    wait_active(conn, lb.id)
    with pytest.raises(exceptions.ConflictException, match="already has a health monitor"):
        conn.load_balancer.create_health_monitor(pool_id=pool.id, type="TCP", delay=5, timeout=2, max_retries=2)
    with pytest.raises(exceptions.BadRequestException, match="cookie_name"):
        conn.load_balancer.update_pool(pool, session_persistence={"type": "APP_COOKIE"})


def test_unknown_attributes_are_refused_with_octavia_fault_body(emu, conn):
    resp = conn.load_balancer.post("/lbaas/loadbalancers", json={"loadbalancer": {
        "vip_subnet_id": emu.seed.subnet_id, "colour": "blue"}}, raise_exc=False)
    assert resp.status_code == 400
    body = resp.json()
    assert body["faultcode"] == "Client"
    assert "Unknown attribute for argument loadbalancer: colour" in body["faultstring"]
    resp = conn.load_balancer.post("/lbaas/loadbalancers", json={"loadbalancer": {}}, raise_exc=False)
    assert resp.status_code == 400 and "VIP must contain one of" in resp.json()["faultstring"]
    assert emu.schema_violations == ["octavia.loadbalancers.create: loadbalancer.colour is not an attribute of "
                                     "openstack openstack.load_balancer.v2.load_balancer.LoadBalancer"]
    emu.schema_violations.clear()


def test_validation_records_attributes_octavia_takes_but_the_sdk_does_not_define(emu, conn):
    lb = _lb(emu, conn)
    resp = conn.load_balancer.post("/lbaas/listeners", json={"listener": {
        "loadbalancer_id": lb.id, "protocol": "TCP", "protocol_port": 80, "client_authentication": "NONE"}})
    assert resp.status_code == 201
    assert emu.schema_violations == ["octavia.listeners.create: listener.client_authentication is not an attribute "
                                     "of openstack openstack.load_balancer.v2.listener.Listener"]
    emu.schema_violations.clear()


def test_quota_is_enforced_with_403(emu, conn):
    emu.set_quota("octavia", load_balancer=1, listener=1)
    lb = _lb(emu, conn)
    with pytest.raises(exceptions.ForbiddenException, match="Quota has been met for resources: Load Balancer"):
        conn.load_balancer.create_load_balancer(vip_subnet_id=emu.seed.subnet_id)
    _listener(conn, lb)
    with pytest.raises(exceptions.ForbiddenException, match="Listener"):
        conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="UDP", protocol_port=81)
    quota = conn.load_balancer.get_quota(emu.seed.project.id)
    assert (quota.load_balancers, quota.listeners, quota.pools) == (1, 1, -1)
    with pytest.raises(exceptions.ForbiddenException):
        conn.load_balancer.update_quota(emu.seed.project.id, load_balancers=5)


def test_provisioning_error_makes_the_load_balancer_immutable_until_failover(emu, conn):
    lb = _lb(emu, conn)
    emu.faults.provisioning_errors(1)
    listener = conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="TCP", protocol_port=80)
    with pytest.raises(exceptions.ResourceFailure):
        wait_active(conn, lb.id)
    assert conn.load_balancer.get_listener(listener.id).provisioning_status == "ERROR"
    with pytest.raises(exceptions.ConflictException):
        conn.load_balancer.update_load_balancer(lb.id, description="x")
    emu.octavia.failover(lb.id)
    assert wait_active(conn, lb.id).provisioning_status == "ACTIVE"
    assert conn.load_balancer.get_listener(listener.id).provisioning_status == "ACTIVE"


def test_an_error_load_balancer_can_still_be_deleted(emu, conn):
    emu.faults.provisioning_errors(1)
    lb = conn.load_balancer.create_load_balancer(vip_subnet_id=emu.seed.subnet_id)
    assert conn.load_balancer.get_load_balancer(lb.id).provisioning_status == "ERROR"
    conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
    conn.load_balancer.wait_for_delete(lb, interval=0.005, wait=10)


def test_ovn_provider_refuses_what_ovn_does_not_do(emu, conn):
    lb = _lb(emu, conn, provider="ovn")
    with pytest.raises(exceptions.HttpException, match="OVN provider does not support HTTP protocol") as err:
        conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="HTTP", protocol_port=80)
    assert err.value.status_code == 501
    with pytest.raises(exceptions.HttpException, match="allowed_cidrs"):
        conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="TCP", protocol_port=80,
                                           allowed_cidrs=["10.0.0.0/8"])
    listener = _listener(conn, lb)
    with pytest.raises(exceptions.HttpException, match="ROUND_ROBIN algorithm"):
        conn.load_balancer.create_pool(listener_id=listener.id, protocol="TCP", lb_algorithm="ROUND_ROBIN")
    with pytest.raises(exceptions.HttpException, match="PROXY protocol"):
        conn.load_balancer.create_pool(listener_id=listener.id, protocol="PROXY", lb_algorithm="SOURCE_IP_PORT")


def test_flavors_and_availability_zones_must_exist(emu, conn):
    flavor = emu.add_octavia_flavor("small")
    emu.add_availability_zone("az1")
    lb = _lb(emu, conn, flavor_id=flavor["id"], availability_zone="az1")
    assert (lb.flavor_id, lb.availability_zone) == (flavor["id"], "az1")
    with pytest.raises(exceptions.BadRequestException, match="not found"):
        conn.load_balancer.create_load_balancer(vip_subnet_id=emu.seed.subnet_id,
                                                flavor_id="3a4e9b0c-1f7e-4c57-9b3c-0e8f4f5b2d11")
    with pytest.raises(exceptions.BadRequestException, match="Availability Zone az9 not found"):
        conn.load_balancer.create_load_balancer(vip_subnet_id=emu.seed.subnet_id, availability_zone="az9")


def test_listing_filters_by_tags_and_name(emu, conn):
    a = _lb(emu, conn, name="a", tags=["kube_service_c_ns_a", "cluster"])
    b = _lb(emu, conn, name="b", tags=["cluster"])
    _listener(conn, a)
    listener = _listener(conn, b)
    # by parent: the SDK sends load_balancer_id for listeners, loadbalancer_id for pools
    assert [li.id for li in conn.load_balancer.listeners(load_balancer_id=b.id)] == [listener.id]
    assert list(conn.load_balancer.pools(loadbalancer_id=b.id)) == []
    assert {lb.name for lb in conn.load_balancer.load_balancers(tags="cluster")} == {"a", "b"}
    assert [lb.name for lb in conn.load_balancer.load_balancers(tags="kube_service_c_ns_a,cluster")] == ["a"]
    assert [lb.name for lb in conn.load_balancer.load_balancers(name="b")] == ["b"]
    assert [lb.name for lb in conn.load_balancer.load_balancers(not_tags="kube_service_c_ns_a")] == ["b"]
