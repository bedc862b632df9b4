"""The node controllers driving the AWS provider (EC2 in moto over HTTP) through the embedded API."""

from __future__ import annotations

from typing import Any

import kubernetes.client

from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.controllers.nodeutil import TAINT_SHUTDOWN, TAINT_UNINITIALIZED
from tests.providers.aws.conftest import make_cloud
from tests.providers.aws.harness import CLUSTER, REGION
from tests.util import wait_for


def taint_keys(node: Any) -> list[str]:
    return [t.key for t in node.spec.taints or ()]


def gone(core: Any, name: str) -> bool:
    try:
        core.read_node(name)
    except kubernetes.client.ApiException as exc:
        return exc.status == 404
    return False


def test_init_delete_and_shutdown_taint_against_ec2(api_client, moto, world):
    core = kubernetes.client.CoreV1Api(api_client)
    ec2 = moto.client("ec2")
    first, stopped, terminated = world.instances
    desc = ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]
    dns, private_ip, zone = desc["PrivateDnsName"], desc["PrivateIpAddress"], world.zones[first]
    # kubelet --cloud-provider=external: named after the private DNS name, tainted, no providerID yet
    core.create_node({"metadata": {"name": dns}, "spec": {"taints": [
        {"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}]}})  # type: ignore[arg-type]
    for iid in (stopped, terminated):
        core.create_node({"metadata": {"name": f"node-{iid}"}, "spec": {"providerID": world.provider_id(iid)},
                          "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})  # type: ignore[arg-type]
    cloud = make_cloud(moto)
    mgr = ControllerManager(api_client, cloud, ControllerOptions(
        cluster_name=CLUSTER, node_monitor_period=0.1, controllers=("cloud-node", "cloud-node-lifecycle")))
    mgr.start()
    try:
        node = wait_for(lambda: (n := core.read_node(dns)) and TAINT_UNINITIALIZED not in taint_keys(n) and n,
                        timeout=20, message="the node to be initialised")
        assert node.spec.provider_id == f"aws:///{zone}/{first}"
        labels = node.metadata.labels
        assert (labels["node.kubernetes.io/instance-type"], labels["topology.kubernetes.io/zone"],
                labels["topology.kubernetes.io/region"]) == ("m1.small", zone, REGION)
        assert labels["topology.k8s.aws/zone-id"].startswith("use1-az")
        addresses = wait_for(lambda: [(a.type, a.address) for a in core.read_node(dns).status.addresses or ()])
        assert addresses == [("InternalIP", private_ip), ("InternalDNS", dns), ("Hostname", dns)]

        ec2.stop_instances(InstanceIds=[stopped])
        ec2.terminate_instances(InstanceIds=[terminated])
        wait_for(lambda: gone(core, f"node-{terminated}"), timeout=20, message="the terminated node deleted")
        wait_for(lambda: TAINT_SHUTDOWN in taint_keys(core.read_node(f"node-{stopped}")), timeout=20,
                 message="the stopped node tainted")
        assert cloud.counter.totals()[0] == 0  # node controllers never mutate the cloud
    finally:
        mgr.stop()
        cloud.close()
