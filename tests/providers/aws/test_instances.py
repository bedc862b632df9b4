"""The AWS instances capability against moto over HTTP: lookups, states, addresses, provider ids."""

from __future__ import annotations

import pytest

from providers.aws.instances import ZONE_ID_LABEL, node_addresses, parse_provider_id
from providers.instances import InstanceNotFound
from providers.port import Node, NodeAddress
from tests.providers.aws.harness import REGION


@pytest.mark.parametrize(("provider_id", "instance"), [
    ("aws:///us-east-1a/i-0abc", "i-0abc"), ("aws:////i-0abc", "i-0abc"), ("i-0abc", "i-0abc"),
    ("aws://us-east-1a/i-0abc", "i-0abc"),
])
def test_parse_provider_id(provider_id, instance):
    assert parse_provider_id(provider_id) == instance


@pytest.mark.parametrize("provider_id", ["gce://p/z/i-1", "aws:///us-east-1a/", "aws:///us-east-1a/vm-1", "x"])
def test_parse_provider_id_rejects(provider_id):
    with pytest.raises(ValueError):
        parse_provider_id(provider_id)


def test_address_order_follows_upstream():
    instance = {
        "PublicIpAddress": "203.0.113.9", "PrivateDnsName": "ip-10-0-0-5.ec2.internal",
        "PublicDnsName": "ec2-203-0-113-9.compute-1.amazonaws.com",
        "NetworkInterfaces": [
            {"Status": "in-use", "Attachment": {"DeviceIndex": 1},
             "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.7"}], "Ipv6Addresses": [{"Ipv6Address": "2001:db8::7"}]},
            {"Status": "available", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.9.9"}]},
            {"Status": "in-use", "Attachment": {"DeviceIndex": 0},
             "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.5"}, {"PrivateIpAddress": "10.0.0.6"}],
             "Ipv6Addresses": [{"Ipv6Address": "2001:db8::5"}, {"Ipv6Address": "2001:db8::6"}]},
        ],
    }
    assert node_addresses(instance, ("ipv4", "ipv6")) == (
        NodeAddress("InternalIP", "10.0.0.5"), NodeAddress("InternalIP", "10.0.0.6"),
        NodeAddress("InternalIP", "10.0.1.7"), NodeAddress("ExternalIP", "203.0.113.9"),
        NodeAddress("InternalDNS", "ip-10-0-0-5.ec2.internal"), NodeAddress("Hostname", "ip-10-0-0-5.ec2.internal"),
        NodeAddress("ExternalDNS", "ec2-203-0-113-9.compute-1.amazonaws.com"),
        NodeAddress("InternalIP", "2001:db8::5"), NodeAddress("InternalIP", "2001:db8::7"),
    )


def test_exists_shutdown_metadata_through_ec2(moto, world, cloud):
    vms = cloud.instances()
    iid = world.instances[0]
    node = Node("whatever", provider_id=world.provider_id(iid))
    assert vms.instance_exists(node) and not vms.instance_shutdown(node)
    meta = vms.instance_metadata(node)
    zone = world.zones[iid]
    assert meta.provider_id == f"aws:///{zone}/{iid}"
    assert (meta.zone, meta.region, meta.instance_type) == (zone, REGION, "m1.small")
    ec2 = moto.client("ec2")
    desc = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    dns = desc["PrivateDnsName"]
    assert meta.node_addresses[0] == NodeAddress("InternalIP", desc["PrivateIpAddress"])
    assert NodeAddress("Hostname", dns) in meta.node_addresses
    zone_id = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}[zone]
    assert dict(meta.additional_labels) == {ZONE_ID_LABEL: zone_id}
    # a node without a providerID is found by its private DNS name, as upstream does
    assert vms.instance_metadata(Node(dns)).provider_id == meta.provider_id
    # a zone-id label already on the node is left alone (and the lookup is cached: one describe)
    assert vms.instance_metadata(Node("n", provider_id=meta.provider_id, labels={ZONE_ID_LABEL: "x"})
                                 ).additional_labels == {}

    ec2.stop_instances(InstanceIds=[iid])
    assert vms.instance_exists(node) and vms.instance_shutdown(node)
    ec2.terminate_instances(InstanceIds=[iid])
    assert not vms.instance_exists(node) and not vms.instance_shutdown(node)

    unknown = Node("n", provider_id="aws:///us-east-1a/i-0123456789abcdef0")
    assert not vms.instance_exists(unknown)
    with pytest.raises(InstanceNotFound):
        vms.instance_metadata(unknown)
    assert not vms.instance_exists(Node("ip-10-9-9-9.ec2.internal"))
    with pytest.raises(ValueError, match="scheme"):
        vms.instance_exists(Node("n", provider_id="gce://p/z/n"))
    snap = cloud.counter.snapshot()
    assert snap[("ec2", "DescribeAvailabilityZones", False)] == 1  # cached per zone name
    assert snap[("ec2", "DescribeInstances", False)] >= 10
    assert cloud.counter.totals()[0] == 0  # the capability never mutates


def test_ip_families_option(moto, world):
    from tests.providers.aws.conftest import make_cloud

    cloud = make_cloud(moto, **{"aws-node-ip-families": "ipv4,ipv6"})
    try:
        assert cloud.instances().ip_families == ("ipv4", "ipv6")
    finally:
        cloud.close()
    with pytest.raises(ValueError, match="ipv5"):
        make_cloud(moto, **{"aws-node-ip-families": "ipv5"})
