"""Through the controller: invalid annotations never reach AWS, foreign names surface as events,
node changes reach the targets, and a restarted controller finishes a half-made load balancer."""

from __future__ import annotations

import pytest

from ccm.annotations import aws as ann
from ccm.annotations.registry import parse
from providers.adapter.naming import default_load_balancer_name
from tests.providers.aws.harness import add_instance
from tests.util import wait_for

INVALID = {
    "SSL_CERT": "not-an-arn", "BACKEND_PROTOCOL": "udp", "SSL_PORTS": "70000", "PROXY_PROTOCOL": "yes",
    "ACCESS_LOG_ENABLED": "yes", "ACCESS_LOG_EMIT_INTERVAL": "10", "ACCESS_LOG_S3_BUCKET_NAME": "Bad_Bucket",
    "CONNECTION_DRAINING_ENABLED": "maybe", "CONNECTION_DRAINING_TIMEOUT": "0", "CONNECTION_IDLE_TIMEOUT": "5000",
    "CROSS_ZONE_LOAD_BALANCING_ENABLED": "2", "ADDITIONAL_RESOURCE_TAGS": "aws:owner=me",
    "HEALTHCHECK_HEALTHY_THRESHOLD": "11", "HEALTHCHECK_UNHEALTHY_THRESHOLD": "1", "HEALTHCHECK_INTERVAL": "4",
    "HEALTHCHECK_TIMEOUT": "61", "SECURITY_GROUPS": "default", "EXTRA_SECURITY_GROUPS": "sg-XYZ",
    "TARGET_GROUP_ATTRIBUTES": "stickiness.enabled=true", "HEALTHCHECK_PROTOCOL": "UDP",
    "HEALTHCHECK_PORT": "http", "HEALTHCHECK_PATH": "ready", "ACCESS_LOG_S3_BUCKET_PREFIX": "x" * 1025,
    "TARGET_NODE_LABELS": "bad key!=x", "EIP_ALLOCATIONS": "eip-1", "PRIVATE_IPV4_ADDRESSES": "10.0.0.300",
}


def test_invalid_annotations_stop_before_any_aws_call(cluster):
    cases = {name.lower().replace("_", "-"): {getattr(ann, name).key: raw} for name, raw in INVALID.items()}
    cases["timeout-not-below-interval"] = {ann.HEALTHCHECK_TIMEOUT.key: "30", ann.HEALTHCHECK_INTERVAL.key: "20"}
    for svc, values in cases.items():
        assert parse("aws", values).errors, f"{svc}: the registry accepts {values}"
        for lb_type in ("", "nlb"):
            extra = {ann.TYPE.key: lb_type} if lb_type else {}
            cluster.service(f"{svc}-{lb_type or 'clb'}"[:63], {**values, **extra})
    for svc in cases:
        for lb_type in ("clb", "nlb"):
            cluster.wait_event(f"{svc}-{lb_type}"[:63], "InvalidAnnotation")
    assert cluster.cloud.counter.totals()[0] == 0
    assert cluster.aws.clbs() == [] and cluster.aws.nlbs() == []
    assert all(cluster.hostname(f"{svc}-clb"[:63]) is None for svc in cases)


def test_foreign_load_balancer_surfaces_as_a_warning_event(cluster):
    cluster.stop()  # create the Service while no controller runs, so the foreign name is there first
    svc = cluster.service("clash", {}, ports=({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},))
    name = default_load_balancer_name(svc.metadata.uid)
    cluster.aws.elb.create_load_balancer(LoadBalancerName=name, Subnets=[cluster.world.public_subnets[0]], Listeners=[
        {"Protocol": "TCP", "LoadBalancerPort": 9, "InstanceProtocol": "TCP", "InstancePort": 9}])
    cluster.start()
    events = cluster.wait_event("clash", "ForeignLoadBalancer")
    assert any("never adopted" in e for e in events)
    assert cluster.hostname("clash") is None
    assert cluster.cloud.counter.totals()[0] == 0
    cluster.delete("clash")
    wait_for(lambda: cluster.gone("clash"), 15, message="service deleted")
    assert cluster.aws.clb(name)["ListenerDescriptions"][0]["Listener"]["LoadBalancerPort"] == 9  # untouched


@pytest.mark.parametrize("lb_type", ["clb", "nlb"])
def test_node_added_and_removed_reach_the_targets(cluster, lb_type):
    annotations = {ann.TYPE.key: "nlb"} if lb_type == "nlb" else {}
    svc = cluster.service("web", annotations)
    cluster.wait_hostname("web")
    name = default_load_balancer_name(svc.metadata.uid)

    def registered() -> set[str]:
        if lb_type == "clb":
            return cluster.aws.clb_instances(name)
        return {i for tg in cluster.aws.target_groups() for i, _ in cluster.aws.targets(tg["TargetGroupArn"])}

    wait_for(lambda: registered() == set(cluster.world.instances), message="all nodes registered")
    new = add_instance(cluster.moto, cluster.world)
    cluster.add_node(new)
    wait_for(lambda: new in registered(), 15, message="the new node registered")
    cluster.core.delete_node(f"node-{cluster.world.instances[0]}")
    wait_for(lambda: cluster.world.instances[0] not in registered(), 15, message="the deleted node deregistered")


def test_restarted_controller_completes_a_half_made_load_balancer(cluster):
    cluster.stop()
    cluster.moto.faults.crash_after = 3  # the first controller "dies" after its third mutating call
    cluster.start()
    svc = cluster.service("web", {ann.TYPE.key: "nlb"})
    cluster.wait_event("web", "InjectedCrash")
    cluster.stop()
    cluster.moto.faults.reset()
    cluster.start()
    cluster.wait_hostname("web")
    name = default_load_balancer_name(svc.metadata.uid)
    assert [lb["LoadBalancerName"] for lb in cluster.aws.nlbs()] == [name]
    assert len(cluster.aws.target_groups()) == 2 and len(cluster.aws.nlb_listeners(name)) == 2
    cluster.delete("web")
    wait_for(lambda: cluster.gone("web"), 15, message="service deleted")
    assert cluster.aws.nothing_left(cluster.world.node_sg) == []
