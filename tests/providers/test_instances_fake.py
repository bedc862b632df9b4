"""The fake cloud's instances capability: lookup order, states, the two unknown-node policies."""

from __future__ import annotations

import pytest

from providers.fake import FakeCloud, FakeInstances
from providers.instances import InstanceMetadata, InstanceNotFound
from providers.port import CloudProvider, LoadBalancer, Node, NodeAddress


def test_default_policy_backs_every_node_with_a_running_machine():
    vms = FakeCloud().instances()
    assert vms is not None
    node = Node("n1")
    assert vms.instance_exists(node) and not vms.instance_shutdown(node)
    meta = vms.instance_metadata(node)
    assert meta == InstanceMetadata("fake://n1", "fake", (), "fake-zone", "fake-region")


def test_absent_policy_knows_only_added_machines_and_their_states():
    vms = FakeInstances(unknown="absent")
    vms.add("n1", addresses=(("InternalIP", "10.0.0.5"),), instance_type="big", zone="z1", region="r1")
    node = Node("n1")
    assert vms.instance_exists(node) and not vms.instance_shutdown(node)
    assert vms.instance_metadata(node).node_addresses == (NodeAddress("InternalIP", "10.0.0.5"),)
    vms.set_state("n1", "stopped")
    assert vms.instance_exists(node) and vms.instance_shutdown(node)
    vms.set_state("n1", "terminated")
    assert not vms.instance_exists(node) and not vms.instance_shutdown(node)
    with pytest.raises(InstanceNotFound):
        vms.instance_metadata(node)
    assert not vms.instance_exists(Node("other"))
    with pytest.raises(ValueError):
        vms.set_state("n1", "exploded")


def test_provider_id_wins_over_the_name():
    vms = FakeInstances(unknown="absent")
    vms.add("machine-a")
    assert vms.instance_exists(Node("renamed", provider_id="fake://machine-a"))
    assert not vms.instance_exists(Node("machine-b", provider_id="fake://machine-b"))
    with pytest.raises(ValueError, match="not a fake:// id"):
        vms.instance_exists(Node("x", provider_id="aws:///us-east-1a/i-1"))


def test_failures_calls_and_unready_metadata():
    vms = FakeInstances()
    vms.fail("exists", RuntimeError("cloud down"), times=1)
    with pytest.raises(RuntimeError):
        vms.instance_exists(Node("n1"))
    assert vms.instance_exists(Node("n1"))
    vms.unready.add("n2")
    assert vms.instance_metadata(Node("n2")) is None
    assert [c.operation for c in vms.calls] == ["exists", "exists", "metadata"]
    assert len(vms.calls_of("exists", "n1")) == 2


def test_instances_is_optional_in_the_port():
    class LbOnly(CloudProvider):
        def load_balancer(self) -> LoadBalancer | None:
            return None

    assert LbOnly().instances() is None


def test_metadata_is_frozen():
    meta = InstanceMetadata("fake://a", additional_labels={"k": "v"}, node_addresses=[NodeAddress("Hostname", "a")])
    assert isinstance(meta.node_addresses, tuple)
    with pytest.raises(TypeError):
        meta.additional_labels["k"] = "w"  # type: ignore[index]
