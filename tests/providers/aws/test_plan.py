"""The pure parts: desired state, names, rule diffs and plans, without any SDK or server."""

from __future__ import annotations

import dataclasses

import pytest

from providers.adapter.operations import Ref
from providers.adapter.ownership import Owner
from providers.aws import clb, nlb
from providers.aws.kinds import Existing
from providers.aws.names import target_group_name
from providers.aws.rules import Rule, observed_rules, plan_rules
from providers.aws.settings import Settings
from providers.aws.world import Instance, Subnet, World, choose_subnets, instance_id, node_matches
from providers.port import HealthCheck, LoadBalancerRequest, Node, PortStatus, ServicePort, UserError

NAME = "a1234abcd00004000800000000000bee"
OWNER = Owner("test", "default/web")
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/x"
TAGS = {"kubernetes.io/cluster/test": "owned", "kubernetes.io/role/elb": "1"}
WORLD = World(
    instances=(Instance("i-1", "vpc-1", "us-east-1a", ("sg-node",)), Instance("i-2", "vpc-1", "us-east-1b", ("sg-node",))),
    subnets=(Subnet("subnet-a", "us-east-1a", "10.0.0.0/24", "vpc-1", TAGS),
             Subnet("subnet-b", "us-east-1b", "10.0.1.0/24", "vpc-1", TAGS)),
    node_groups={"sg-node": []}, cluster_groups={"sg-node": []})


def req(*ports: ServicePort, **kw) -> LoadBalancerRequest:
    return LoadBalancerRequest(cluster_name="test", namespace="default", name="web", uid="1234abcd-0000",
                               ports=ports or (ServicePort("http", "TCP", 80, 30080),
                                               ServicePort("https", "TCP", 443, 30443)), **kw)


# -- names and EC2 selection ------------------------------------------------------------------

def test_target_group_names_fit_aws_limits_and_change_with_immutable_fields():
    n = target_group_name(NAME, 65535, "TCP_UDP", 32767, "HTTPS")
    assert len(n) <= 32 and n.replace("-", "").isalnum() and not n.endswith("-")
    assert target_group_name(NAME, 80, "TCP", 30080, "TCP") == target_group_name(NAME, 80, "TCP", 30080, "TCP")
    assert target_group_name(NAME, 80, "TCP", 30080, "TCP") != target_group_name(NAME, 80, "TCP", 30081, "TCP")


@pytest.mark.parametrize(("pid", "want"), [
    ("aws:///us-east-1a/i-0abc", "i-0abc"), ("aws:///i-0abc", "i-0abc"), ("gce://p/z/n", None), ("", None),
    ("aws:///us-east-1a/not-an-instance", None)])
def test_instance_id_from_provider_id(pid, want):
    assert instance_id(pid) == want


def test_subnets_one_per_zone_skip_other_clusters_and_prefer_ours():
    other = {"kubernetes.io/role/elb": "1", "kubernetes.io/cluster/other": "owned"}
    unclaimed = {"kubernetes.io/role/elb": "1"}
    subnets = [Subnet("subnet-0", "a", "", "v", other), Subnet("subnet-1", "a", "", "v", unclaimed),
               Subnet("subnet-2", "a", "", "v", TAGS), Subnet("subnet-3", "b", "", "v", unclaimed),
               Subnet("subnet-4", "c", "", "v", {"kubernetes.io/role/internal-elb": "1"})]
    assert [s.id for s in choose_subnets(subnets, "test", internal=False)] == ["subnet-2", "subnet-3"]
    assert [s.id for s in choose_subnets(subnets, "test", internal=True)] == ["subnet-4"]


def test_target_node_labels_match_all_pairs_and_bare_keys():
    node = Node("n", labels={"role": "edge", "zone": "a"})
    assert node_matches(node, {"role": "edge", "zone": ""})
    assert not node_matches(node, {"role": "core"}) and not node_matches(node, {"gpu": ""})


# -- security-group rules ---------------------------------------------------------------------

def test_rule_plan_adds_missing_revokes_only_owned_and_accepts_equal_rules_of_others():
    mine, other = "mark=a", "mark=b"
    observed = observed_rules([
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": mine}]},
        {"IpProtocol": "tcp", "FromPort": 2, "ToPort": 2, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": other}]},
        {"IpProtocol": "icmp", "FromPort": 3, "ToPort": 4, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": other}]},
    ])
    want = {Rule("icmp", 3, 4, "0.0.0.0/0", mine), Rule("tcp", 5, 5, "sg-x", mine)}
    ops = plan_rules("sg-n", want, observed, owned=lambda r: r.description == mine)
    assert [o.action for o in ops] == ["revoke_security_group_ingress", "authorize_security_group_ingress"]
    assert ops[0].params["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": mine}]}]
    assert ops[1].params["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 5, "ToPort": 5, "UserIdGroupPairs": [{"GroupId": "sg-x", "Description": mine}]}]
    assert plan_rules("sg-n", {Rule("icmp", 3, 4, "0.0.0.0/0", mine)}, observed, owned=lambda r: False) == []


# -- Classic ELB ------------------------------------------------------------------------------

@pytest.mark.parametrize(("settings", "port", "want"), [
    pytest.param(Settings(), 443, clb.Listener("TCP", 443, "TCP", 30443), id="plain-tcp"),
    pytest.param(Settings(backend_protocol="http"), 80, clb.Listener("HTTP", 80, "HTTP", 30080), id="http"),
    pytest.param(Settings(ssl_cert=CERT), 443, clb.Listener("SSL", 443, "TCP", 30443, CERT), id="ssl-all-ports"),
    pytest.param(Settings(ssl_cert=CERT, backend_protocol="https"), 443,
                 clb.Listener("HTTPS", 443, "HTTPS", 30443, CERT), id="https-https"),
    pytest.param(Settings(ssl_cert=CERT, backend_protocol="http", ssl_ports=("443",)), 80,
                 clb.Listener("HTTP", 80, "HTTP", 30080), id="http-not-an-ssl-port"),
    pytest.param(Settings(ssl_cert=CERT, backend_protocol="ssl", ssl_ports=("https",)), 443,
                 clb.Listener("SSL", 443, "SSL", 30443, CERT), id="ssl-port-by-name"),
])
def test_clb_listeners(settings, port, want):
    name = {80: "http", 443: "https"}[port]
    assert clb.build_listener(settings, port, port + 30000 if port == 80 else 30443, name) == want


def test_clb_health_check_cluster_local_and_overrides():
    listeners = [clb.Listener("TCP", 80, "TCP", 30080)]
    assert clb.health_check(req(), Settings(), listeners)["Target"] == "TCP:30080"
    assert clb.health_check(req(), Settings(backend_protocol="ssl"), listeners)["Target"] == "SSL:30080"
    local = req(health_check=HealthCheck("/healthz", 32000))
    hc = clb.health_check(local, Settings(hc_healthy=3, hc_unhealthy=4, hc_interval=30, hc_timeout=7), listeners)
    assert hc == {"Target": "HTTP:32000/healthz", "HealthyThreshold": 3, "UnhealthyThreshold": 4,
                  "Interval": 30, "Timeout": 7}
    assert clb.health_check(req(), Settings(hc_protocol="HTTP", hc_path="/ready"), listeners)["Target"] == \
        "HTTP:30080/ready"
    with pytest.raises(UserError, match="less than the interval"):
        clb.health_check(req(), Settings(hc_interval=5, hc_timeout=5), listeners)


def test_clb_udp_port_is_reported_not_fatal_and_all_udp_is_an_error():
    d = clb.desired_clb(req(ServicePort("dns", "UDP", 53, 30053), ServicePort("http", "TCP", 80, 30080)),
                        Settings(), WORLD, NAME)
    assert d.port_status == (PortStatus(53, "UDP", "UnsupportedProtocol"), PortStatus(80, "TCP"))
    assert [lst.port for lst in d.listeners] == [80]
    with pytest.raises(UserError):
        clb.desired_clb(req(ServicePort("dns", "UDP", 53, 30053)), Settings(), WORLD, NAME)


def _observed_clb(d: clb.ClbDesired) -> clb.ClbObserved:
    """What describe calls return once ``d`` is in place (the shape boto3 gives)."""
    sg = {"GroupId": "sg-lb", "IpPermissions": [r.permission() for r in d.sg_rules]}
    node_rules = {Rule("tcp", p, p, "sg-lb", "kubernetes.io/rule/elb=" + NAME) for p in d.node_ports}
    lb = {"Scheme": "internal" if d.internal else "internet-facing", "Subnets": list(d.subnets),
          "SecurityGroups": ["sg-lb"], "HealthCheck": dict(d.health_check),
          "ListenerDescriptions": [{"Listener": lst.api(), "PolicyNames": []} for lst in d.listeners],
          "Instances": [{"InstanceId": i} for i in d.instance_ids], "BackendServerDescriptions": []}
    return clb.ClbObserved(existing=Existing("clb", NAME, lb, dict(d.tags)),
                           attributes={k: dict(v) for k, v in d.attributes.items()},
                           sg=sg, groups={"sg-node": [r.permission() for r in node_rules]})


def _steady(planned) -> bool:
    return planned.operations == () and planned.notes == ()


def test_clb_plan_create_orders_group_before_lb_and_instances_last():
    d = clb.desired_clb(req(), Settings(), WORLD, NAME)
    planned = clb.plan_clb(d, clb.ClbObserved())
    ops = planned.operations
    assert planned.notes == ()
    assert [o.action for o in ops] == [
        "create_security_group", "authorize_security_group_ingress", "create_load_balancer",
        "configure_health_check", "modify_load_balancer_attributes", "register_instances_with_load_balancer"]
    assert ops[2].params["SecurityGroups"] == [Ref("sg")]
    assert [o.kind for o in ops[:3]] == ["create", "update", "create"]
    # node rules are a separate phase, planned once the group's id is known
    assert planned.node_rules.source == Ref("sg")
    [rule_op] = planned.node_rules.resolved({"sg": "sg-new"}).plan({"sg-node": []})
    assert rule_op.params["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == "sg-new"
    # printed before the group exists, it reads as a placeholder
    [shown] = planned.node_rules.resolved({}, placeholders=True).plan({"sg-node": []})
    assert shown.params["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == "<sg>"


def test_clb_plan_is_empty_when_steady_and_minimal_on_change():
    d = clb.desired_clb(req(), Settings(), WORLD, NAME)
    observed = _observed_clb(d)
    steady = clb.plan_clb(d, observed)
    assert _steady(steady) and steady.node_rules.plan(observed.groups) == []
    changed = clb.desired_clb(req(ServicePort("http", "TCP", 80, 30081), ServicePort("https", "TCP", 443, 30443)),
                              Settings(), WORLD, NAME)
    planned = clb.plan_clb(changed, observed)
    assert [o.action for o in planned.operations] == ["delete_load_balancer_listeners", "create_load_balancer_listeners",
                                                      "configure_health_check"]
    assert [o.action for o in planned.node_rules.plan(observed.groups)] == [
        "revoke_security_group_ingress", "authorize_security_group_ingress"]


def test_clb_security_groups_in_another_order_are_steady():
    d = clb.desired_clb(req(), Settings(security_groups=("sg-b", "sg-a")), WORLD, NAME)
    observed = _observed_clb(d)
    existing = observed.existing
    observed = dataclasses.replace(observed, sg=None, existing=dataclasses.replace(
        existing, description={**existing.description, "SecurityGroups": ["sg-a", "sg-b"]}))
    assert _steady(clb.plan_clb(d, observed))
    observed = dataclasses.replace(observed, existing=dataclasses.replace(
        existing, description={**existing.description, "SecurityGroups": ["sg-a"]}))
    [op] = clb.plan_clb(d, observed).operations
    assert op.action == "apply_security_groups_to_load_balancer" and op.params["SecurityGroups"] == ["sg-b", "sg-a"]


def test_clb_scheme_change_warns_and_changes_nothing():
    d = clb.desired_clb(req(), Settings(), WORLD, NAME)
    planned = clb.plan_clb(dataclasses.replace(d, internal=True), _observed_clb(d))
    assert planned.operations == () and len(planned.notes) == 1 and "created" in planned.notes[0]


def test_clb_policies_follow_annotations():
    s = Settings(ssl_cert=CERT, ssl_ports=("443",), ssl_negotiation_policy="ELBSecurityPolicy-TLS-1-2-2017-01",
                 proxy_protocol=True)
    d = clb.desired_clb(req(), s, WORLD, NAME)
    ops = clb.plan_clb(d, _observed_clb(d)).operations
    calls = [(o.action, o.params.get("PolicyName") or o.params.get("LoadBalancerPort") or o.params.get("InstancePort"))
             for o in ops]
    assert calls == [
        ("create_load_balancer_policy", "k8s-SSLNegotiationPolicy-ELBSecurityPolicy-TLS-1-2-2017-01"),
        ("create_load_balancer_policy", "k8s-proxyprotocol-enabled"),
        ("set_load_balancer_policies_of_listener", 443),
        ("set_load_balancer_policies_for_backend_server", 30080),
        ("set_load_balancer_policies_for_backend_server", 30443)]


# -- NLB --------------------------------------------------------------------------------------

def test_nlb_listeners_merge_tcp_udp_on_one_node_port_and_report_conflicts():
    r = req(ServicePort("dns", "TCP", 53, 30053), ServicePort("dnsu", "UDP", 53, 30053),
            ServicePort("a", "TCP", 80, 30080), ServicePort("b", "UDP", 80, 30081), ServicePort("s", "SCTP", 9, 30009))
    listeners, status = nlb.listener_ports(r, Settings())
    assert [(p, proto) for p, proto, _, _ in listeners] == [(53, "TCP_UDP"), (80, "TCP")]
    assert PortStatus(80, "UDP", "PortProtocolConflict") in status
    assert PortStatus(9, "SCTP", "UnsupportedProtocol") in status


def test_nlb_desired_health_checks_and_node_rules():
    d = nlb.desired_nlb(req(), Settings(), WORLD, NAME)
    assert d.target_groups[0].health_check == {
        "HealthCheckProtocol": "TCP", "HealthCheckPort": "traffic-port", "HealthCheckIntervalSeconds": 30,
        "HealthyThresholdCount": 3, "UnhealthyThresholdCount": 3}
    rules = d.node_rules["sg-node"]
    # clients come from 0.0.0.0/0 on the node ports, which covers the health checks: no health rules
    assert {r.key for r in rules} == {("tcp", 30080, 30080, "0.0.0.0/0"), ("tcp", 30443, 30443, "0.0.0.0/0"),
                                      ("icmp", 3, 4, "0.0.0.0/0")}
    local = nlb.desired_nlb(req(health_check=HealthCheck("/healthz", 32000), source_ranges=("192.0.2.0/24",)),
                            Settings(hc_timeout=6), WORLD, NAME)
    hc = local.target_groups[0].health_check
    assert (hc["HealthCheckProtocol"], hc["HealthCheckPort"], hc["HealthCheckPath"], hc["HealthCheckTimeoutSeconds"],
            hc["HealthCheckIntervalSeconds"]) == ("HTTP", "32000", "/healthz", 6, 10)
    assert {r.key for r in local.node_rules["sg-node"] if r.from_port == 32000} == {
        ("tcp", 32000, 32000, "10.0.0.0/24"), ("tcp", 32000, 32000, "10.0.1.0/24")}


def test_nlb_plan_replaces_a_target_group_whose_node_port_changed():
    d = nlb.desired_nlb(req(ServicePort("http", "TCP", 80, 30080)), Settings(), WORLD, NAME)
    tg = d.target_groups[0]
    observed = nlb.NlbObserved(
        OWNER, existing=Existing("nlb", NAME, {"LoadBalancerArn": "lb", "Scheme": "internet-facing",
                                               "AvailabilityZones": [{"SubnetId": s} for s in d.subnets]},
                                 dict(d.tags)),
        attributes=dict(d.attributes),
        listeners=[{"ListenerArn": "l80", "Port": 80, "Protocol": "TCP",
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": "tg-old"}]}],
        target_groups={tg.name: nlb.ObservedTargetGroup(
            {"TargetGroupArn": "tg-old", **tg.health_check}, dict(tg.attributes),
            frozenset((i, 30080) for i in d.instance_ids))},
        groups={"sg-node": [r.permission() for r in d.node_rules["sg-node"]]})
    steady = nlb.plan_nlb(d, observed)
    assert _steady(steady) and steady.node_rules.plan(observed.groups) == []
    moved = nlb.desired_nlb(req(ServicePort("http", "TCP", 80, 30090)), Settings(), WORLD, NAME)
    ops = nlb.plan_nlb(moved, observed).operations
    assert [o.action for o in ops] == [
        "create_target_group", "modify_target_group_attributes", "register_targets", "modify_listener",
        "delete_target_group"]
    assert ops[3].params["DefaultActions"][0]["TargetGroupArn"] == Ref(f"tg:{moved.target_groups[0].name}")


def test_nlb_foreign_target_group_with_our_name_is_never_adopted():
    d = nlb.desired_nlb(req(ServicePort("http", "TCP", 80, 30080)), Settings(), WORLD, NAME)
    with pytest.raises(UserError) as err:
        nlb.plan_nlb(d, nlb.NlbObserved(OWNER, foreign_target_groups=frozenset({d.target_groups[0].name})))
    assert err.value.reason == "ForeignLoadBalancer"


def test_nlb_mtu_rule_is_shared_and_goes_with_the_last_client():
    mine, other = "kubernetes.io/rule/nlb/client=" + NAME, "kubernetes.io/rule/nlb/client=b"
    mtu = {"IpProtocol": "icmp", "FromPort": 3, "ToPort": 4,
           "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "kubernetes.io/rule/nlb/mtu=b"}]}
    client = {"IpProtocol": "tcp", "FromPort": 30080, "ToPort": 30080,
              "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": mine}]}
    other_client = {"IpProtocol": "tcp", "FromPort": 31000, "ToPort": 31000,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": other}]}
    # deleting while another NLB still has clients from 0.0.0.0/0: keep the MTU rule it shares
    [op] = nlb.NlbNodeRules(NAME).plan({"sg-node": [mtu, client, other_client]})
    assert op.params["IpPermissions"] == [client]
    # deleting the last one: the MTU rule goes too, whoever created it
    [op] = nlb.NlbNodeRules(NAME).plan({"sg-node": [mtu, client]})
    assert [p["IpProtocol"] for p in op.params["IpPermissions"]] == ["icmp", "tcp"]
