"""Every AWS annotation through the controller: create a Service with it, assert AWS state by describe
calls, change it, assert again, delete, assert nothing is left. Plus validation and node sync.

Table-driven: all cases of one load-balancer type run as Services side by side in one cluster,
which keeps the suite fast; each assertion names its case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ccm.annotations import aws as ann
from providers.adapter.naming import default_load_balancer_name
from tests.providers.aws.cluster import Cluster
from tests.util import wait_for

CERT = "arn:aws:iam::123456789012:server-certificate/web"
POLICY = "ELBSecurityPolicy-TLS-1-2-2017-01"


def A(**values: str | None) -> dict[str, str | None]:  # reads like a table
    """Annotations by declaration name (``SSL_PORTS="443"``), keyed by the declared key."""
    return {getattr(ann, k).key: v for k, v in values.items()}


Check = Callable[[Cluster, str, dict[int, int]], None]


@dataclasses.dataclass
class Case:
    id: str
    create: Mapping[str, str | None]
    created: Check
    update: Mapping[str, Any]  # annotations to merge, or {"spec": {...}} patches
    updated: Check
    spec: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    ports: tuple[Mapping[str, Any], ...] | None = None


# -- Classic ELB checks -----------------------------------------------------------------------

def clb_listeners(want: Callable[[dict[int, int]], set]) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        assert c.aws.listeners(n) == want(np)
    return check


def listener_policies(c: Cluster, n: str) -> dict[int, list[str]]:
    return {d["Listener"]["LoadBalancerPort"]: d["PolicyNames"] for d in c.aws.clb(n)["ListenerDescriptions"]}


def clb_ssl_created(c: Cluster, n: str, np: dict[int, int]) -> None:
    assert c.aws.listeners(n) == {("HTTP", 80, "HTTP", np[80], None), ("HTTPS", 443, "HTTP", np[443], CERT)}
    assert listener_policies(c, n)[443] == [f"k8s-SSLNegotiationPolicy-{POLICY}"]


def clb_ssl_updated(c: Cluster, n: str, np: dict[int, int]) -> None:
    assert c.aws.listeners(n) == {("TCP", 80, "TCP", np[80], None), ("SSL", 443, "SSL", np[443], CERT)}
    assert listener_policies(c, n)[443] == []
    assert c.aws.clb(n)["HealthCheck"]["Target"] == f"SSL:{np[80]}"


def clb_hc(target: str | None, healthy: int, unhealthy: int, interval: int, timeout: int) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        hc = c.aws.clb(n)["HealthCheck"]
        assert (hc["HealthyThreshold"], hc["UnhealthyThreshold"], hc["Interval"], hc["Timeout"]) == \
            (healthy, unhealthy, interval, timeout)
        assert hc["Target"] == (target or f"TCP:{np[80]}").format(**{f"np{k}": v for k, v in np.items()})
    return check


def clb_target(target: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        assert c.aws.clb(n)["HealthCheck"]["Target"] == target.format(np80=np[80])
    return check


def clb_attrs(**want: Any) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        attrs = c.aws.clb_attributes(n)
        got = {f"{section}.{k}": v for section, values in attrs.items() if isinstance(values, dict)
               for k, v in values.items()}
        for key, value in want.items():
            assert got.get(key.replace("__", ".")) == value, (key, got)
    return check


def clb_proxy(enabled: bool) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        backends = {b["InstancePort"]: b["PolicyNames"] for b in c.aws.clb(n)["BackendServerDescriptions"]}
        for port in (np[80], np[443]):
            assert ("k8s-proxyprotocol-enabled" in backends.get(port, [])) is enabled, backends
    return check


def clb_tags(**want: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        tags = c.aws.clb_tags(n)
        assert {k: tags.get(k) for k in want} == want
        if not c.aws.clb(n)["SecurityGroups"][0].startswith(tuple(c.world.user_sgs)):
            [sg] = c.aws.managed_groups(n)
            sg_tags = {t["Key"]: t["Value"] for t in sg["Tags"]}
            assert all(k in sg_tags for k in want)  # upstream: tags only on create for the group
    return check


def clb_groups(user: int | None, extra: int | None) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        groups = c.aws.clb(n)["SecurityGroups"]
        managed = [g["GroupId"] for g in c.aws.managed_groups(n)]
        if user is not None:
            assert groups == [c.world.user_sgs[user]] and managed == []
            source = c.world.user_sgs[user]
        else:
            assert groups == [*managed, *([c.world.user_sgs[extra]] if extra is not None else [])]
            source = managed[0]
        node = {r[:4] for r in c.aws.rules(c.world.node_sg) if r[4].endswith(n)}
        assert node == {("tcp", np[80], np[80], source), ("tcp", np[443], np[443], source)}
    return check


def clb_scheme(scheme: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        lb = c.aws.clb(n)
        subnets = c.world.internal_subnets if scheme == "internal" else c.world.public_subnets
        assert lb["Scheme"] == scheme and sorted(lb["Subnets"]) == sorted(subnets)
    return check


def clb_subnets(*which: int) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        assert sorted(c.aws.clb(n)["Subnets"]) == sorted(c.world.public_subnets[i] for i in which)
    return check


def clb_targets(*which: int) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        assert c.aws.clb_instances(n) == {c.world.instances[i] for i in which}
    return check


def clb_ranges(*cidrs: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        [sg] = c.aws.managed_groups(n)
        want = {(p, port, port, cidr) for cidr in cidrs for p, port in (("tcp", 80), ("tcp", 443))}
        want |= {("icmp", 3, 4, cidr) for cidr in cidrs}
        assert {r[:4] for r in c.aws.rules(sg["GroupId"])} == want
    return check


def clb_local(c: Cluster, n: str, np: dict[int, int]) -> None:
    hcnp = c.get(c_name(c, n)).spec.health_check_node_port
    assert c.aws.clb(n)["HealthCheck"]["Target"] == f"HTTP:{hcnp}/healthz"
    assert any(r[1] == hcnp for r in c.aws.rules(c.world.node_sg) if r[4].endswith(n))


def c_name(c: Cluster, lb: str) -> str:
    """The Service whose load balancer is ``lb``."""
    return next(str(s.metadata.name) for s in c.core.list_namespaced_service("default").items
                if s.metadata is not None and default_load_balancer_name(str(s.metadata.uid)) == lb)


CLB_CASES = [
    Case("ssl", A(SSL_CERT=CERT, SSL_PORTS="443", BACKEND_PROTOCOL="http", SSL_NEGOTIATION_POLICY=POLICY),
         clb_ssl_created, A(BACKEND_PROTOCOL="ssl", SSL_PORTS="https", SSL_NEGOTIATION_POLICY=None), clb_ssl_updated),
    Case("healthcheck", A(HEALTHCHECK_HEALTHY_THRESHOLD="3", HEALTHCHECK_UNHEALTHY_THRESHOLD="4",
                          HEALTHCHECK_INTERVAL="20", HEALTHCHECK_TIMEOUT="8"), clb_hc(None, 3, 4, 20, 8),
         A(HEALTHCHECK_HEALTHY_THRESHOLD="10", HEALTHCHECK_INTERVAL="300", HEALTHCHECK_TIMEOUT="60"),
         clb_hc(None, 10, 4, 300, 60)),
    Case("healthcheck-target", A(HEALTHCHECK_PROTOCOL="http", HEALTHCHECK_PATH="/ready", HEALTHCHECK_PORT="31999"),
         clb_target("HTTP:31999/ready"), A(HEALTHCHECK_PORT="traffic-port", HEALTHCHECK_PROTOCOL="TCP"),
         clb_target("TCP:{np80}")),
    Case("access-log", A(ACCESS_LOG_ENABLED="true", ACCESS_LOG_EMIT_INTERVAL="5",
                         ACCESS_LOG_S3_BUCKET_NAME="logs-bucket", ACCESS_LOG_S3_BUCKET_PREFIX="web"),
         clb_attrs(AccessLog__Enabled=True, AccessLog__EmitInterval=5, AccessLog__S3BucketName="logs-bucket",
                   AccessLog__S3BucketPrefix="web"),
         A(ACCESS_LOG_ENABLED="false"), clb_attrs(AccessLog__Enabled=False)),
    Case("draining-idle-crosszone", A(CONNECTION_DRAINING_ENABLED="true", CONNECTION_DRAINING_TIMEOUT="120",
                                      CONNECTION_IDLE_TIMEOUT="300", CROSS_ZONE_LOAD_BALANCING_ENABLED="true"),
         clb_attrs(ConnectionDraining__Enabled=True, ConnectionDraining__Timeout=120,
                   ConnectionSettings__IdleTimeout=300, CrossZoneLoadBalancing__Enabled=True),
         A(CONNECTION_DRAINING_ENABLED=None, CONNECTION_IDLE_TIMEOUT="4000", CROSS_ZONE_LOAD_BALANCING_ENABLED="0"),
         clb_attrs(ConnectionDraining__Enabled=False, ConnectionSettings__IdleTimeout=4000,
                   CrossZoneLoadBalancing__Enabled=False)),
    Case("proxy-protocol", A(PROXY_PROTOCOL="*"), clb_proxy(True), A(PROXY_PROTOCOL=None), clb_proxy(False)),
    Case("tags", A(ADDITIONAL_RESOURCE_TAGS="team=a,cost-center"), clb_tags(team="a", **{"cost-center": ""}),
         A(ADDITIONAL_RESOURCE_TAGS="team=b"), clb_tags(team="b")),
    Case("security-groups", A(SECURITY_GROUPS="{user0}"), clb_groups(0, None),
         A(SECURITY_GROUPS=None, EXTRA_SECURITY_GROUPS="{user1}"), clb_groups(None, 1)),
    Case("internal", A(INTERNAL="true"), clb_scheme("internal"), A(CONNECTION_IDLE_TIMEOUT="61"),
         clb_scheme("internal")),
    Case("target-node-labels", A(TARGET_NODE_LABELS="role=edge"), clb_targets(0), A(TARGET_NODE_LABELS="role"),
         clb_targets(0, 1, 2)),
    Case("subnets", A(SUBNETS="{pub0},public-b"), clb_subnets(0, 1), A(SUBNETS="public-a"), clb_subnets(0)),
    Case("source-ranges", {}, clb_ranges("192.0.2.0/24", "198.51.100.0/24"),
         {"spec": {"loadBalancerSourceRanges": ["203.0.113.0/24"]}}, clb_ranges("203.0.113.0/24"),
         spec={"loadBalancerSourceRanges": ["192.0.2.0/24", "198.51.100.0/24"]}),
    Case("local", {}, clb_local, A(HEALTHCHECK_INTERVAL="30"), clb_local, spec={"externalTrafficPolicy": "Local"}),
]


# -- NLB checks -------------------------------------------------------------------------------

def tgs_of(c: Cluster, n: str) -> dict[int, dict[str, Any]]:
    """Target groups of the NLB by listener port."""
    by_arn = {tg["TargetGroupArn"]: tg for tg in c.aws.target_groups()}
    return {lst["Port"]: by_arn[lst["DefaultActions"][0]["TargetGroupArn"]] for lst in c.aws.nlb_listeners(n)}


def nlb_tls(ports: tuple[int, ...]) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        for lst in c.aws.nlb_listeners(n):
            if lst["Port"] in ports:
                assert (lst["Protocol"], lst["Certificates"][0]["CertificateArn"], lst["SslPolicy"]) == \
                    ("TLS", CERT, "ELBSecurityPolicy-TLS13-1-2-2021-06")
            else:
                assert lst["Protocol"] == "TCP"
    return check


def nlb_hc(healthy: int, unhealthy: int, interval: int, timeout: int) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        for tg in tgs_of(c, n).values():
            assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"], tg["HealthCheckIntervalSeconds"],
                    tg["HealthCheckTimeoutSeconds"]) == (healthy, unhealthy, interval, timeout)
    return check


def nlb_hc_target(protocol: str, port: str, path: str | None) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        for tg in tgs_of(c, n).values():
            assert (tg["HealthCheckProtocol"], tg["HealthCheckPort"]) == (protocol, port)
            if path:
                assert tg["HealthCheckPath"] == path
    return check


def tg_attrs(**want: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        for tg in tgs_of(c, n).values():
            got = c.aws.tg_attributes(tg["TargetGroupArn"])
            assert {k.replace("__", "."): got.get(k.replace("__", ".")) for k in want} == \
                {k.replace("__", "."): v for k, v in want.items()}
    return check


def lb_attrs(**want: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        got = c.aws.nlb_attributes(n)
        assert {k.replace("__", "."): got.get(k.replace("__", ".")) for k in want} == \
            {k.replace("__", "."): v for k, v in want.items()}
    return check


def nlb_scheme(scheme: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        lb = c.aws.nlb(n)
        subnets = c.world.internal_subnets if scheme == "internal" else c.world.public_subnets
        assert lb["Scheme"] == scheme and sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(subnets)
    return check


def nlb_tags(**want: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        lb_tags = c.aws.tags_of(c.aws.nlb(n)["LoadBalancerArn"])
        assert {k: lb_tags.get(k) for k in want} == want
        for tg in tgs_of(c, n).values():  # on everything created
            assert "team" in c.aws.tags_of(tg["TargetGroupArn"])
        for lst in c.aws.nlb_listeners(n):
            assert "team" in c.aws.tags_of(lst["ListenerArn"])
    return check


def nlb_node_rules(client_cidrs: tuple[str, ...], health: str) -> Check:
    def check(c: Cluster, n: str, np: dict[int, int]) -> None:
        all_rules = c.aws.rules(c.world.node_sg)
        ours = {r[:4] for r in all_rules if r[4].endswith("=" + n)}
        want = {("tcp", p, p, cidr) for p in np.values() for cidr in client_cidrs}
        if health == "local":
            hcnp = c.get(c_name(c, n)).spec.health_check_node_port
            want |= {("tcp", hcnp, hcnp, c.world.subnet_cidrs[s]) for s in c.world.public_subnets}
            assert all((tg["HealthCheckProtocol"], tg["HealthCheckPort"], tg["HealthCheckPath"]) ==
                       ("HTTP", str(hcnp), "/healthz") for tg in tgs_of(c, n).values())
        elif health == "subnets":
            want |= {("tcp", p, p, c.world.subnet_cidrs[s]) for p in np.values() for s in c.world.public_subnets}
        assert {r for r in ours if r[0] != "icmp"} == want
        # the MTU rule is one per CIDR, shared by every NLB with clients there
        mtu = {r[3] for r in all_rules if r[:3] == ("icmp", 3, 4) and "/rule/nlb/mtu=" in r[4]}
        assert set(client_cidrs) <= mtu
    return check


def nlb_mixed(c: Cluster, n: str, np: dict[int, int]) -> None:
    assert {(lst["Port"], lst["Protocol"]) for lst in c.aws.nlb_listeners(n)} == {(80, "TCP"), (53, "UDP")}
    assert {p: tg["Protocol"] for p, tg in tgs_of(c, n).items()} == {80: "TCP", 53: "UDP"}
    status = c.get(c_name(c, n)).status.load_balancer.ingress[0].ports
    assert {(p.port, p.protocol, p.error) for p in status} == {(80, "TCP", None), (53, "UDP", None)}


def nlb_udp_gone(c: Cluster, n: str, np: dict[int, int]) -> None:
    assert {(lst["Port"], lst["Protocol"]) for lst in c.aws.nlb_listeners(n)} == {(80, "TCP")}
    assert len([tg for tg in c.aws.target_groups() if tg["TargetGroupName"].startswith(n[:12])]) == 1


NLB = A(TYPE="nlb")
NLB_CASES = [
    Case("tls", {**NLB, **A(SSL_CERT=CERT, SSL_PORTS="443", SSL_NEGOTIATION_POLICY="ELBSecurityPolicy-TLS13-1-2-2021-06")},
         nlb_tls((443,)), A(SSL_PORTS="*"), nlb_tls((80, 443))),
    Case("healthcheck", {**NLB, **A(HEALTHCHECK_HEALTHY_THRESHOLD="5", HEALTHCHECK_UNHEALTHY_THRESHOLD="4",
                                    HEALTHCHECK_INTERVAL="10", HEALTHCHECK_TIMEOUT="6")}, nlb_hc(5, 4, 10, 6),
         A(HEALTHCHECK_INTERVAL="30", HEALTHCHECK_TIMEOUT="10"), nlb_hc(5, 4, 30, 10)),
    Case("healthcheck-target", {**NLB, **A(HEALTHCHECK_PROTOCOL="HTTP", HEALTHCHECK_PATH="/ready",
                                           HEALTHCHECK_PORT="31999")}, nlb_hc_target("HTTP", "31999", "/ready"),
         A(HEALTHCHECK_PORT="traffic-port", HEALTHCHECK_PROTOCOL=None, HEALTHCHECK_PATH=None),
         nlb_hc_target("TCP", "traffic-port", None)),
    Case("proxy-protocol", {**NLB, **A(PROXY_PROTOCOL="*")}, tg_attrs(proxy_protocol_v2__enabled="true"),
         A(PROXY_PROTOCOL=None), tg_attrs(proxy_protocol_v2__enabled="false")),
    Case("draining", {**NLB, **A(CONNECTION_DRAINING_ENABLED="true", CONNECTION_DRAINING_TIMEOUT="45")},
         tg_attrs(deregistration_delay__timeout_seconds="45"), A(CONNECTION_DRAINING_ENABLED="false"),
         tg_attrs(deregistration_delay__timeout_seconds="0")),
    Case("lb-attributes", {**NLB, **A(CROSS_ZONE_LOAD_BALANCING_ENABLED="true", ACCESS_LOG_ENABLED="true",
                                      ACCESS_LOG_S3_BUCKET_NAME="logs-bucket", ACCESS_LOG_S3_BUCKET_PREFIX="nlb")},
         lb_attrs(load_balancing__cross_zone__enabled="true", access_logs__s3__enabled="true",
                  access_logs__s3__bucket="logs-bucket", access_logs__s3__prefix="nlb"),
         A(CROSS_ZONE_LOAD_BALANCING_ENABLED="false", ACCESS_LOG_ENABLED=None),
         lb_attrs(load_balancing__cross_zone__enabled="false", access_logs__s3__enabled="false")),
    Case("internal", {**NLB, **A(INTERNAL="true")}, nlb_scheme("internal"), A(HEALTHCHECK_INTERVAL="10"),
         nlb_scheme("internal")),
    Case("private-ipv4-addresses", {**NLB, **A(INTERNAL="true", PRIVATE_IPV4_ADDRESSES="10.0.8.10,10.0.24.10")},
         nlb_scheme("internal"), A(HEALTHCHECK_INTERVAL="10"), nlb_scheme("internal")),
    Case("tags", {**NLB, **A(ADDITIONAL_RESOURCE_TAGS="team=a")}, nlb_tags(team="a"),
         A(ADDITIONAL_RESOURCE_TAGS="team=b,env=prod"), nlb_tags(team="b", env="prod")),
    Case("local", NLB, nlb_node_rules(("0.0.0.0/0",), "local"), A(HEALTHCHECK_HEALTHY_THRESHOLD="4"),
         nlb_node_rules(("0.0.0.0/0",), "local"), spec={"externalTrafficPolicy": "Local"}),
    Case("source-ranges", NLB, nlb_node_rules(("192.0.2.0/24",), "subnets"),
         {"spec": {"loadBalancerSourceRanges": ["198.51.100.0/24", "203.0.113.0/24"]}},
         nlb_node_rules(("198.51.100.0/24", "203.0.113.0/24"), "subnets"),
         spec={"loadBalancerSourceRanges": ["192.0.2.0/24"]}),
    Case("target-group-attributes", {**NLB, **A(TARGET_GROUP_ATTRIBUTES="preserve_client_ip.enabled=false")},
         tg_attrs(preserve_client_ip__enabled="false"), A(TARGET_GROUP_ATTRIBUTES="preserve_client_ip.enabled=true"),
         tg_attrs(preserve_client_ip__enabled="true")),
    Case("mixed-protocols", NLB, nlb_mixed,
         {"spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}, nlb_udp_gone,
         ports=({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353})),
]


def _fill(values: Mapping[str, Any], c: Cluster) -> dict[str, Any]:
    subs = {f"user{i}": g for i, g in enumerate(c.world.user_sgs)}
    subs |= {f"pub{i}": s for i, s in enumerate(c.world.public_subnets)}
    return {k: v.format(**subs) if isinstance(v, str) else v for k, v in values.items()}


def _checking(c: Cluster, check: Check, service: str, lb: str) -> Callable[[], None]:
    return lambda: check(c, lb, c.node_ports(service))


def run_cases(c: Cluster, cases: list[Case]) -> None:
    names: dict[str, str] = {}
    for case in cases:
        kwargs: dict[str, Any] = dict(case.spec)
        if case.ports is not None:
            kwargs["ports"] = case.ports
        svc = c.service(case.id, {k: v for k, v in _fill(case.create, c).items() if v is not None}, **kwargs)
        names[case.id] = default_load_balancer_name(svc.metadata.uid)
    for case in cases:
        c.wait_hostname(case.id, timeout=30)
        c.wait(_checking(c, case.created, case.id, names[case.id]), f"{case.id}: created state", service=case.id)
    for case in cases:
        if "spec" in case.update:
            c.replace_spec(case.id, case.update["spec"])
        else:
            c.set_annotations(case.id, _fill(case.update, c))
    for case in cases:
        c.wait(_checking(c, case.updated, case.id, names[case.id]), f"{case.id}: updated state", timeout=30,
               service=case.id)
    for case in cases:
        c.delete(case.id)
    wait_for(lambda: all(c.gone(case.id) for case in cases), 30, message="services deleted")
    assert c.aws.nothing_left(c.world.node_sg) == []


def test_classic_elb_annotations_create_update_delete(cluster):
    run_cases(cluster, CLB_CASES)


def test_nlb_annotations_create_update_delete(cluster):
    run_cases(cluster, NLB_CASES)
