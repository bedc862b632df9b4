"""Neutron through openstacksdk: floating IPs, ports, security groups, tags, quotas, error bodies."""

from __future__ import annotations

import pytest
from openstack import exceptions


def test_floating_ip_lifecycle_on_a_port(emu, conn):
    port = conn.network.create_port(network_id=emu.seed.network_id, name="vip")
    fip = conn.network.create_ip(floating_network_id=emu.seed.external_network_id, description="mine")
    assert (fip.status, fip.port_id) == ("DOWN", None)
    assert fip.floating_ip_address.startswith("172.24.4.")
    fip = conn.network.update_ip(fip, port_id=port.id)
    assert (fip.status, fip.fixed_ip_address) == ("ACTIVE", port.fixed_ips[0]["ip_address"])
    assert fip.router_id
    other = conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    with pytest.raises(exceptions.ConflictException, match="already has a floating IP"):
        conn.network.update_ip(other, port_id=port.id)
    conn.network.delete_port(port)
    fip = conn.network.get_ip(fip.id)
    assert (fip.status, fip.port_id, fip.fixed_ip_address) == ("DOWN", None, None)
    conn.network.delete_ip(fip)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_ip(fip.id)


def test_floating_ip_rules(emu, conn):
    with pytest.raises(exceptions.BadRequestException, match="is not a valid external network"):
        conn.network.create_ip(floating_network_id=emu.seed.network_id)
    island = emu.add_subnet("192.168.50.0/24", name="island", routed=False)
    port = conn.network.create_port(network_id=island["network_id"])
    with pytest.raises(exceptions.NotFoundException, match="is not reachable from subnet"):
        conn.network.create_ip(floating_network_id=emu.seed.external_network_id, port_id=port.id)
    fip = conn.network.create_ip(floating_network_id=emu.seed.external_network_id, floating_ip_address="172.24.4.77")
    assert fip.floating_ip_address == "172.24.4.77"
    with pytest.raises(exceptions.ConflictException, match="already allocated"):
        conn.network.create_ip(floating_network_id=emu.seed.external_network_id, floating_ip_address="172.24.4.77")


def test_neutron_errors_carry_the_neutron_error_body(emu, conn):
    resp = conn.network.post("/ports", json={"port": {"network_id": emu.seed.network_id, "colour": "x"}},
                             raise_exc=False)
    assert resp.status_code == 400
    assert resp.json() == {"NeutronError": {"type": "HTTPBadRequest", "message": "Unrecognized attribute(s) 'colour'",
                                            "detail": ""}}
    emu.schema_violations.clear()
    resp = conn.network.get("/floatingips/5f3c3c1e-2b68-4c53-b7c8-2a44b1dbb0a1", raise_exc=False)
    assert resp.status_code == 404 and resp.json()["NeutronError"]["type"] == "FloatingIPNotFound"
    resp = conn.network.get("/ports?colour=blue", raise_exc=False)
    assert resp.status_code == 400 and "invalid attribute for filtering" in resp.json()["NeutronError"]["message"]


def test_security_groups_and_rules(emu, conn):
    sg = conn.network.create_security_group(name="lb-sg", description="ours")
    assert sorted(r["ethertype"] for r in sg.security_group_rules) == ["IPv4", "IPv6"]
    rule = conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", protocol="tcp",
                                                   port_range_min=30080, port_range_max=30080,
                                                   remote_ip_prefix="10.0.0.0/24")
    with pytest.raises(exceptions.ConflictException, match=f"Rule id is {rule.id}"):
        conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", protocol="tcp",
                                                port_range_min=30080, port_range_max=30080,
                                                remote_ip_prefix="10.0.0.0/24")
    with pytest.raises(exceptions.BadRequestException, match="Conflicting value ethertype IPv4"):
        conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                                remote_ip_prefix="::/0")
    port = conn.network.create_port(network_id=emu.seed.network_id, security_groups=[sg.id])
    with pytest.raises(exceptions.ConflictException, match="in use"):
        conn.network.delete_security_group(sg)
    conn.network.update_port(port, security_groups=[])
    conn.network.delete_security_group(sg)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_security_group_rule(rule.id)


def test_ports_get_the_default_group_and_addresses_run_out(emu, conn):
    tiny = emu.add_subnet("192.168.60.0/30", name="tiny")
    port = conn.network.create_port(network_id=tiny["network_id"])
    assert port.fixed_ips[0]["ip_address"] == "192.168.60.2"
    [default] = conn.network.security_groups(name="default")
    assert port.security_group_ids == [default.id]
    with pytest.raises(exceptions.ConflictException, match="No more IP addresses"):
        conn.network.create_port(network_id=tiny["network_id"])
    ports = list(conn.network.ports(fixed_ips=f"subnet_id={tiny['id']}"))
    assert [p.id for p in ports] == [port.id]


def test_tags_and_tag_filters(emu, conn):
    fip = conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    conn.network.set_tags(fip, ["kube_service_c_ns_a", "cluster:c"])
    conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    assert [f.id for f in conn.network.ips(tags="cluster:c")] == [fip.id]
    assert [f.id for f in conn.network.ips(any_tags="x,kube_service_c_ns_a")] == [fip.id]
    assert len(list(conn.network.ips(not_tags="cluster:c"))) == 1
    resp = conn.network.put(f"/floatingips/{fip.id}/tags/extra")
    assert resp.status_code == 201
    assert conn.network.get_ip(fip.id).tags == ["kube_service_c_ns_a", "cluster:c", "extra"]


def test_quota_is_enforced_with_over_quota(emu, conn):
    emu.set_quota("neutron", floatingip=1)
    conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    with pytest.raises(exceptions.ConflictException, match=r"Quota exceeded for resources: \['floatingip'\]"):
        conn.network.create_ip(floating_network_id=emu.seed.external_network_id)
    assert conn.network.get_quota(emu.seed.project.id).floating_ips == 1


def test_subnets_of_external_networks_are_visible_to_every_project(emu, conn):
    names = {s.name for s in conn.network.subnets()}
    assert {"k8s-subnet", "public-subnet"} <= names  # the external network's subnet belongs to "admin"
    assert conn.network.get_subnet(emu.seed.external_subnet_id).name == "public-subnet"
