"""Nova reads through openstacksdk: servers by id and in lists, microversions, status, not found."""

from __future__ import annotations

import pytest
from openstack import exceptions


def _server_id(emu, name):
    return next(sid for sid, row in emu.cloud.compute.servers.items() if row["name"] == name)


def test_server_get_shows_addresses_status_zone_and_embedded_flavor(emu, conn):
    server = conn.compute.get_server(_server_id(emu, "node-1"))
    assert server.status == "ACTIVE"
    assert server.addresses == {"k8s-net": [{"addr": "10.0.0.11", "version": 4, "OS-EXT-IPS:type": "fixed",
                                             "OS-EXT-IPS-MAC:mac_addr": server.addresses["k8s-net"][0][
                                                 "OS-EXT-IPS-MAC:mac_addr"]}]}
    assert server.availability_zone == "nova"
    assert server.flavor.original_name == "m1.small"  # microversion >= 2.47: the flavor is embedded


def test_old_microversion_gets_a_flavor_reference_and_bad_ones_406(emu, conn):
    sid = _server_id(emu, "node-1")
    body = conn.compute.get(f"/servers/{sid}", microversion="2.1").json()["server"]
    assert set(body["flavor"]) == {"id", "links"}
    resp = conn.compute.get(f"/servers/{sid}", headers={"OpenStack-API-Version": "compute 3.0"}, raise_exc=False)
    assert resp.status_code == 406


def test_status_changes_and_missing_servers(emu, conn):
    sid = _server_id(emu, "node-2")
    emu.set_server_status(sid, "SHUTOFF")
    assert conn.compute.get_server(sid).status == "SHUTOFF"
    assert {s.name for s in conn.compute.servers(status="ACTIVE")} == {"node-1"}
    emu.remove_server(sid)
    with pytest.raises(exceptions.NotFoundException, match=f"Instance {sid} could not be found"):
        conn.compute.get_server(sid)
    resp = conn.compute.get(f"/servers/{sid}", raise_exc=False)
    assert resp.json() == {"itemNotFound": {"code": 404, "message": f"Instance {sid} could not be found."}}
    assert not [p for p in conn.network.ports() if p.device_id == sid]
