"""The local cloud's instances: this host's addresses, or an inventory file edited while running."""

from __future__ import annotations

import json

import pytest

from providers.instances import InstanceNotFound
from providers.local.instances import LocalInstances, is_host_address
from providers.port import Node, NodeAddress, ProviderContext


def node(name, ip=None, provider_id=""):
    addresses = (NodeAddress("InternalIP", ip),) if ip else ()
    return Node(name, provider_id=provider_id, addresses=addresses)


def test_host_addresses():
    assert is_host_address("127.0.1.7")
    assert not is_host_address("192.0.2.1")  # TEST-NET-1: never an address of this host


def test_without_inventory_a_node_on_this_host_is_a_running_machine():
    vms = LocalInstances()
    n = node("node-1", "127.0.1.1")
    assert vms.instance_exists(n) and not vms.instance_shutdown(n)
    meta = vms.instance_metadata(n)
    assert (meta.provider_id, meta.instance_type, meta.zone, meta.region, meta.node_addresses) == (
        "local://node-1", "local", "local", "local", ())
    gone = node("node-2", "192.0.2.1")
    assert not vms.instance_exists(gone)
    with pytest.raises(InstanceNotFound):
        vms.instance_metadata(gone)
    with pytest.raises(RuntimeError, match="no InternalIP"):  # cannot tell: never "gone"
        vms.instance_exists(node("node-3"))
    with pytest.raises(ValueError, match="not a local:// id"):
        vms.instance_exists(node("node-1", "127.0.1.1", provider_id="aws:///z/i-1"))


def test_inventory_file_is_reread(tmp_path):
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"node-1": {"type": "local.large", "zone": "local-a", "region": "here",
                                           "addresses": [{"type": "InternalIP", "address": "127.0.1.1"}]}}))
    vms = LocalInstances(path)
    n = node("other-name", provider_id="local://node-1")
    meta = vms.instance_metadata(n)
    assert (meta.provider_id, meta.instance_type, meta.zone, meta.region) == (
        "local://node-1", "local.large", "local-a", "here")
    assert meta.node_addresses == (NodeAddress("InternalIP", "127.0.1.1"),)
    path.write_text(json.dumps({"node-1": {"state": "stopped"}}))
    assert vms.instance_exists(n) and vms.instance_shutdown(n)
    path.write_text(json.dumps({"node-1": {"state": "terminated"}}))
    assert not vms.instance_exists(n)
    path.write_text("{}")
    assert not vms.instance_exists(n)
    path.write_text(json.dumps({"node-1": {"state": "sleeping"}}))
    with pytest.raises(RuntimeError, match="sleeping"):
        vms.instance_exists(n)


def test_local_cloud_hands_out_instances(tmp_path):
    from providers.local import create

    cloud = create(ProviderContext("t", {"state-file": str(tmp_path / "s.json"),
                                         "instances-file": str(tmp_path / "i.json")}))
    try:
        vms = cloud.instances()
        assert isinstance(vms, LocalInstances) and vms.instances_file == tmp_path / "i.json"
    finally:
        cloud.close()
