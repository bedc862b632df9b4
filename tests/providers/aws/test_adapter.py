"""The adapter against moto over HTTP: lifecycle, steady state, crashes, throttling, foreign resources."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from botocore.exceptions import ClientError

from ccm.annotations import aws as ann
from providers.port import Node, RetryError, UserError
from tests.providers.aws.conftest import make_cloud
from tests.providers.aws.harness import add_instance
from tests.providers.aws.requests import local, nodes_of, request
from tests.providers.aws.state import AwsState

NLB = {ann.TYPE.key: "nlb"}


def mutating(cloud, fn, *args):
    """(result, mutating calls it made)."""
    before = cloud.counter.totals()[0]
    result = fn(*args)
    return result, cloud.counter.totals()[0] - before


def test_clb_lifecycle_default(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    req = request(world)
    name = lb.name(req)
    result = lb.ensure(req)
    desc = aws.clb(name)
    assert result.status.ingress[0].hostname == desc["DNSName"] and result.warnings == ()
    assert aws.listeners(name) == {("TCP", 80, "TCP", 30080, None), ("TCP", 443, "TCP", 30443, None)}
    assert desc["Scheme"] == "internet-facing" and sorted(desc["Subnets"]) == sorted(world.public_subnets)
    assert desc["HealthCheck"] == {"Target": "TCP:30080", "Interval": 10, "Timeout": 5, "HealthyThreshold": 2,
                                   "UnhealthyThreshold": 6}
    assert aws.clb_instances(name) == set(world.instances)
    assert aws.clb_tags(name) == {"kubernetes.io/cluster/test": "owned", "kubernetes.io/service-name": "default/web"}
    attrs = aws.clb_attributes(name)
    assert attrs["ConnectionSettings"]["IdleTimeout"] == 60 and attrs["CrossZoneLoadBalancing"]["Enabled"] is False
    [sg] = aws.managed_groups(name)
    assert desc["SecurityGroups"] == [sg["GroupId"]]
    assert {t["Key"]: t["Value"] for t in sg["Tags"]}["kubernetes.io/service-name"] == "default/web"
    assert {r[:4] for r in aws.rules(sg["GroupId"])} == {
        ("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 443, 443, "0.0.0.0/0"), ("icmp", 3, 4, "0.0.0.0/0")}
    assert {r[:4] for r in aws.rules(world.node_sg)} == {
        ("tcp", 30080, 30080, sg["GroupId"]), ("tcp", 30443, 30443, sg["GroupId"])}
    # steady: no mutating call; get agrees
    again, n = mutating(cloud, lb.ensure, req)
    assert n == 0 and again.status == result.status
    assert lb.get(req) == result.status
    # delete removes everything, and again is a no-op
    lb.delete(req)
    assert aws.nothing_left(world.node_sg) == []
    assert lb.get(req) is None
    _, n = mutating(cloud, lb.delete, req)
    assert n == 0


def test_nlb_lifecycle_default(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    req = request(world, NLB)
    name = lb.name(req)
    result = lb.ensure(req)
    desc = aws.nlb(name)
    assert desc["Type"] == "network" and desc["Scheme"] == "internet-facing"
    assert result.status.ingress[0].hostname == desc["DNSName"]
    tgs = {tg["Port"]: tg for tg in aws.target_groups()}
    assert set(tgs) == {30080, 30443}
    for port, tg in tgs.items():
        assert (tg["Protocol"], tg["HealthCheckProtocol"], tg["HealthCheckPort"], tg["HealthCheckIntervalSeconds"],
                tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == ("TCP", "TCP", "traffic-port", 30, 3, 3)
        assert aws.targets(tg["TargetGroupArn"]) == {(i, port) for i in world.instances}
        assert aws.tags_of(tg["TargetGroupArn"])["kubernetes.io/cluster/test"] == "owned"
        assert len(tg["TargetGroupName"]) <= 32
    assert [(lst["Port"], lst["Protocol"], lst["DefaultActions"][0]["TargetGroupArn"]) for lst in aws.nlb_listeners(name)] \
        == [(80, "TCP", tgs[30080]["TargetGroupArn"]), (443, "TCP", tgs[30443]["TargetGroupArn"])]
    assert aws.tags_of(desc["LoadBalancerArn"])["kubernetes.io/service-name"] == "default/web"
    rules = aws.rules(world.node_sg)
    assert {r[:4] for r in rules} == {("tcp", 30080, 30080, "0.0.0.0/0"), ("tcp", 30443, 30443, "0.0.0.0/0"),
                                      ("icmp", 3, 4, "0.0.0.0/0")}
    assert all(r[4].endswith("=" + name) for r in rules)
    _, n = mutating(cloud, lb.ensure, req)
    assert n == 0
    assert lb.get(req) == result.status
    lb.delete(req)
    assert aws.nothing_left(world.node_sg) == []
    _, n = mutating(cloud, lb.delete, req)
    assert n == 0


CERT = "arn:aws:iam::123456789012:server-certificate/web"
#: annotations both types honour (values each type accepts)
_EVERY_SHARED_SETTING = {
    ann.SSL_CERT.key: CERT, ann.SSL_PORTS.key: "443", ann.PROXY_PROTOCOL.key: "*",
    ann.ACCESS_LOG_ENABLED.key: "true", ann.ACCESS_LOG_S3_BUCKET_NAME.key: "logs-bucket",
    ann.ACCESS_LOG_S3_BUCKET_PREFIX.key: "lb", ann.CONNECTION_DRAINING_ENABLED.key: "true",
    ann.CROSS_ZONE_LOAD_BALANCING_ENABLED.key: "true", ann.ADDITIONAL_RESOURCE_TAGS.key: "team=a,cost-center",
    ann.HEALTHCHECK_UNHEALTHY_THRESHOLD.key: "4",
}
EVERY_CLB_SETTING = {
    **_EVERY_SHARED_SETTING, ann.BACKEND_PROTOCOL.key: "http",
    ann.SSL_NEGOTIATION_POLICY.key: "ELBSecurityPolicy-TLS-1-2-2017-01", ann.ACCESS_LOG_EMIT_INTERVAL.key: "5",
    ann.CONNECTION_DRAINING_TIMEOUT.key: "120", ann.CONNECTION_IDLE_TIMEOUT.key: "300",
    ann.HEALTHCHECK_HEALTHY_THRESHOLD.key: "3", ann.HEALTHCHECK_INTERVAL.key: "20", ann.HEALTHCHECK_TIMEOUT.key: "8",
}
EVERY_NLB_SETTING = {
    **_EVERY_SHARED_SETTING, **NLB, ann.SSL_NEGOTIATION_POLICY.key: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    ann.CONNECTION_DRAINING_TIMEOUT.key: "45", ann.HEALTHCHECK_HEALTHY_THRESHOLD.key: "5",
    ann.HEALTHCHECK_INTERVAL.key: "10", ann.HEALTHCHECK_TIMEOUT.key: "6",
    ann.TARGET_GROUP_ATTRIBUTES.key: "preserve_client_ip.enabled=false",
}


@pytest.mark.parametrize("annotations", [EVERY_CLB_SETTING, EVERY_NLB_SETTING], ids=["clb", "nlb"])
def test_steady_ensure_and_update_make_no_mutating_call_with_every_setting(cloud, moto, world, annotations):
    lb = cloud.load_balancer()
    req = dataclasses.replace(local(request(world, annotations)), source_ranges=("192.0.2.0/24", "2001:db8::/32"),
                              source_ranges_set=True)
    first, n = mutating(cloud, lb.ensure, req)
    assert n > 0 and first.warnings == ()
    again, n = mutating(cloud, lb.ensure, req)
    assert n == 0 and again.status == first.status
    assert mutating(cloud, lb.update, req)[1] == 0


@pytest.mark.parametrize("annotations", [pytest.param({}, id="clb"), pytest.param(NLB, id="nlb")])
def test_crash_after_each_mutating_call_converges_without_duplicates(moto, world, annotations):
    """Kill the provider after its k-th mutating call (create, then delete); a fresh one finishes the job.

    The provider keeps no state between calls (everything is found by name and tags), so one
    "crashing" and one "fresh" instance serve every k; the server decides where the crash falls.
    """
    aws = AwsState(moto)
    crashed, fresh = make_cloud(moto), make_cloud(moto)
    lb = fresh.load_balancer()
    probe = request(world, annotations, uid="probe-0")
    total = mutating(fresh, lb.ensure, probe)[1]
    deletes = mutating(fresh, lb.delete, probe)[1]
    assert total >= 7 and deletes >= 3
    for k in range(total):
        req = request(world, annotations, uid=f"crash-{k:03d}")
        moto.faults.crash_after = k
        with pytest.raises(ClientError, match="InjectedCrash"):
            crashed.load_balancer().ensure(req)
        moto.faults.reset()
        status = lb.ensure(req).status
        name = lb.name(req)
        if annotations:
            assert [x["LoadBalancerName"] for x in aws.nlbs()] == [name]
            assert len(aws.target_groups()) == 2 and len(aws.nlb_listeners(name)) == 2
        else:
            assert len(aws.managed_groups(name)) == 1 and aws.clb_instances(name) == set(world.instances)
        assert status.ingress[0].hostname
        assert mutating(fresh, lb.ensure, req)[1] == 0, f"not converged after a crash at call {k}"
        if k < deletes:  # and a crash at each point of the delete
            moto.faults.crash_after = k
            with pytest.raises(ClientError, match="InjectedCrash"):
                crashed.load_balancer().delete(req)
            moto.faults.reset()
        lb.delete(req)
        assert aws.nothing_left(world.node_sg) == [], f"leftovers after a crash at call {k}"
    crashed.close()
    fresh.close()


def test_throttling_is_retried_then_returned_as_retry_error(moto, world):
    cloud = make_cloud(moto, **{"aws-max-attempts": "2"})
    lb = cloud.load_balancer()
    req = request(world)
    moto.faults.throttle["DescribeLoadBalancers"] = 1
    assert lb.ensure(req).status.ingress  # botocore's standard retry absorbed it
    assert moto.faults.actions.count("DescribeLoadBalancers") >= 2
    assert cloud.counter.snapshot()[("elb", "DescribeLoadBalancers", False)] >= 2  # every attempt is counted
    moto.faults.throttle["ConfigureHealthCheck"] = 100
    with pytest.raises(RetryError) as err:
        lb.ensure(dataclasses.replace(req, ports=req.ports[1:]))
    assert "Throttling" in str(err.value) and err.value.retry_after > 0
    cloud.close()


def test_foreign_load_balancer_with_our_name_is_never_touched(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    req = request(world)
    name = lb.name(req)
    aws.elb.create_load_balancer(LoadBalancerName=name, Subnets=[world.public_subnets[0]], Listeners=[
        {"Protocol": "TCP", "LoadBalancerPort": 9, "InstanceProtocol": "TCP", "InstancePort": 9}])
    before = aws.clb(name)
    with pytest.raises(UserError) as err:
        lb.ensure(req)
    assert err.value.reason == "ForeignLoadBalancer" and cloud.counter.totals()[0] == 0
    assert lb.get(req) is None
    lb.delete(req)
    assert aws.clb(name)["ListenerDescriptions"] == before["ListenerDescriptions"]
    # a foreign security group with our managed group's name: an error, never reused or deleted
    other = request(world, uid="0000beef-0000-4000-8000-000000000000")
    foreign_sg = aws.ec2.create_security_group(GroupName=f"k8s-elb-{lb.name(other)}", Description="theirs",
                                               VpcId=world.vpc_id)["GroupId"]
    with pytest.raises(UserError) as err:
        lb.ensure(other)
    assert err.value.reason == "InvalidGroupDuplicate" and len(aws.clbs()) == 1
    lb.delete(other)
    assert aws.group(foreign_sg)["GroupName"] == f"k8s-elb-{lb.name(other)}"
    # the same for an NLB: never adopted, never deleted
    nlb_req = request(world, NLB)
    aws.elbv2.create_load_balancer(Name=name, Type="network", Subnets=list(world.public_subnets))
    with pytest.raises(UserError):
        lb.ensure(nlb_req)
    lb.delete(nlb_req)
    assert aws.nlb(name)["LoadBalancerName"] == name


def test_type_and_scheme_are_create_only(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    lb.ensure(request(world))
    result = lb.ensure(request(world, {ann.TYPE.key: "nlb", ann.INTERNAL.key: "true", ann.CONNECTION_IDLE_TIMEOUT.key: "120"}))
    assert {w.reason for w in result.warnings} == {"CreateOnlyAnnotationChanged"} and len(result.warnings) == 2
    assert aws.nlbs() == [] and len(aws.clbs()) == 1
    name = lb.name(request(world))
    assert aws.clb(name)["Scheme"] == "internet-facing"
    assert aws.clb_attributes(name)["ConnectionSettings"]["IdleTimeout"] == 120  # the rest is reconciled
    lb.delete(request(world))
    assert aws.nothing_left(world.node_sg) == []


def test_node_sync_registers_new_nodes_and_honours_target_node_labels(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    labels = {world.instances[0]: {"role": "edge"}, world.instances[1]: {"role": "edge"}}
    for values in ({ann.TARGET_NODE_LABELS.key: "role=edge"}, {**NLB, ann.TARGET_NODE_LABELS.key: "role=edge"}):
        req = request(world, values, nodes=nodes_of(world, labels))
        lb.ensure(req)
        name = lb.name(req)

        def registered(name=name, values=values):
            if values.get(ann.TYPE.key):
                return {i for tg in aws.target_groups() for i, _ in aws.targets(tg["TargetGroupArn"])}
            return aws.clb_instances(name)

        assert registered() == set(world.instances[:2])
        new = add_instance(moto, world)
        grown = dataclasses.replace(req, nodes=(*req.nodes, Node("new", world.provider_id(new), labels={"role": "edge"})))
        assert lb.update(grown) == ()
        assert registered() == {*world.instances[:2], new}
        _, n = mutating(cloud, lb.update, grown)
        assert n == 0
        lb.delete(grown)
        world.instances = world.instances[:3]
    assert aws.nothing_left(world.node_sg) == []


def test_concurrent_ensure_and_update_on_one_service(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    req = local(request(world, NLB))
    errors: list[BaseException] = []

    def run(fn):
        try:
            fn(req)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in (lb.ensure, lb.update, lb.ensure, lb.update)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and len(aws.nlbs()) == 1 and len(aws.target_groups()) == 2
    assert mutating(cloud, lb.ensure, req)[1] == 0


def test_subnet_and_address_annotations_that_cannot_be_met_are_user_errors(cloud, moto, world):
    lb = cloud.load_balancer()
    cases = [
        ({ann.SUBNETS.key: "subnet-0000000000,public-a"}, "SubnetNotFound"),
        ({**NLB, ann.EIP_ALLOCATIONS.key: "eipalloc-01"}, "InvalidSubnetMappings"),  # 1 for 2 subnets
        ({**NLB, ann.INTERNAL.key: "true", ann.PRIVATE_IPV4_ADDRESSES.key: "10.0.8.10"}, "InvalidSubnetMappings"),
    ]
    for values, reason in cases:
        with pytest.raises(UserError) as err:
            lb.ensure(request(world, values))
        assert err.value.reason == reason
    assert cloud.counter.totals()[0] == 0


UNHONOURABLE = [  # (annotations, reason): settings the load-balancer type cannot honour
    ({ann.EIP_ALLOCATIONS.key: "eipalloc-01,eipalloc-02"}, "UnsupportedAnnotation"),
    ({ann.INTERNAL.key: "true", ann.PRIVATE_IPV4_ADDRESSES.key: "10.0.8.10,10.0.24.10"}, "UnsupportedAnnotation"),
    ({ann.TARGET_GROUP_ATTRIBUTES.key: "proxy_protocol_v2.enabled=true"}, "UnsupportedAnnotation"),
    ({**NLB, ann.EXTRA_SECURITY_GROUPS.key: "sg-0123"}, "UnsupportedAnnotation"),
    ({**NLB, ann.PRIVATE_IPV4_ADDRESSES.key: "10.0.8.10,10.0.24.10"}, "InvalidSubnetMappings"),  # internet-facing
    ({**NLB, ann.INTERNAL.key: "true", ann.EIP_ALLOCATIONS.key: "eipalloc-01,eipalloc-02"}, "InvalidSubnetMappings"),
    ({ann.ACCESS_LOG_ENABLED.key: "true"}, "InvalidAccessLogConfiguration"),  # no bucket
    ({**NLB, ann.ACCESS_LOG_ENABLED.key: "true"}, "InvalidAccessLogConfiguration"),
]


def test_settings_the_load_balancer_type_cannot_honour_fail_before_any_change(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    for values, reason in UNHONOURABLE:
        with pytest.raises(UserError) as err:
            lb.ensure(request(world, values))
        assert err.value.reason == reason, values
    assert cloud.counter.totals()[0] == 0 and aws.clbs() == [] and aws.nlbs() == []


def test_aws_validation_errors_become_user_errors_with_the_aws_code(cloud, moto, world):
    aws, lb = AwsState(moto), cloud.load_balancer()
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    req = request(world, {ann.SSL_CERT.key: missing})
    with pytest.raises(UserError) as err:
        lb.ensure(req)
    assert err.value.reason == "CertificateNotFound" and "certificate was not found" in str(err.value)
    assert aws.clbs() == []
    lb.delete(req)  # what the failed attempt made (its security group) goes with the Service
    assert aws.nothing_left(world.node_sg) == []


def test_delete_without_nodes_still_frees_the_managed_group_from_untagged_node_groups(cloud, moto, world):
    """The controller deletes with no nodes; a node whose only group is untagged still got a rule."""
    aws, lb = AwsState(moto), cloud.load_balancer()
    untagged = aws.ec2.create_security_group(GroupName="plain", Description="plain", VpcId=world.vpc_id)["GroupId"]
    inst = aws.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=world.internal_subnets[0],
                                 SecurityGroupIds=[untagged])["Instances"][0]
    node = Node("plain", f"aws:///{inst['Placement']['AvailabilityZone']}/{inst['InstanceId']}")
    req = request(world, nodes=(node,))
    lb.ensure(req)
    [sg] = aws.managed_groups(lb.name(req))
    assert {r[3] for r in aws.rules(untagged)} == {sg["GroupId"]}
    lb.delete(dataclasses.replace(req, nodes=()))
    assert aws.rules(untagged) == set() and aws.managed_groups(lb.name(req)) == []
