"""Through the controller and the embedded API over HTTP to the OpenStack emulator: public and internal
Services, every annotation's effect, port/protocol and ETP changes, source ranges, node add/remove,
a user-supplied floating IP kept, a foreign load balancer, refused annotations, deletion leaving nothing.

Cases run as Services side by side in one cluster, which keeps the suite fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ccm.annotations import openstack as ann
from providers.openstack.names import load_balancer_name
from tests.providers.openstack.cluster import OpenStackCluster, running_cluster
from tests.providers.openstack.conftest import CLUSTER
from tests.util import wait_for

TLS = "https://barbican.example/v1/containers/web"
PORTS = ({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},)


@pytest.fixture
def cluster(api_client: Any, emu: Any) -> Iterator[OpenStackCluster]:
    with running_cluster(api_client, emu) as c:
        yield c


def A(**values: str) -> dict[str, str]:
    return {getattr(ann, k).key: v for k, v in values.items()}


def test_services_with_every_annotation_through_the_controller(cluster):
    emu = cluster.emu
    subnet = emu.add_subnet("10.9.0.0/24", name="vip2")
    flavor = emu.add_octavia_flavor("small")
    emu.add_availability_zone("az1")
    cases = {
        "plain": {},
        "internal": A(INTERNAL_LOAD_BALANCER="true"),
        "proxy": A(PROXY_PROTOCOL="v2", LB_METHOD="SOURCE_IP", CONNECTION_LIMIT="50", TIMEOUT_CLIENT_DATA="9000",
                   TIMEOUT_MEMBER_CONNECT="900", TIMEOUT_MEMBER_DATA="9000", TIMEOUT_TCP_INSPECT="10"),
        "xff": A(X_FORWARDED_FOR="true", ENABLE_HEALTH_MONITOR="true", HEALTH_MONITOR_DELAY="7",
                 HEALTH_MONITOR_TIMEOUT="4", HEALTH_MONITOR_MAX_RETRIES="2", HEALTH_MONITOR_MAX_RETRIES_DOWN="5"),
        "tls": A(DEFAULT_TLS_CONTAINER_REF=TLS, HOSTNAME="web.example.com", KEEP_FLOATINGIP="true"),
        "placed": A(SUBNET_ID=subnet["id"], MEMBER_SUBNET_ID=emu.seed.subnet_id, FLAVOR_ID=flavor["id"],
                    AVAILABILITY_ZONE="az1", FLOATING_NETWORK_ID=emu.seed.external_network_id,
                    FLOATING_SUBNET_ID=emu.seed.external_subnet_id, NODE_SELECTOR="role=core"),
    }
    for name, values in cases.items():
        cluster.service(name, values, ports=PORTS)
    addresses = {name: cluster.wait_ingress(name, "hostname" if name == "tls" else "ip") for name in cases}
    assert addresses["internal"].startswith("10.0.0.") and addresses["plain"].startswith("172.24.4.")
    assert addresses["tls"] == "web.example.com"
    [proxy_pool] = cluster.octavia("pools", "proxy")
    assert (proxy_pool["protocol"], proxy_pool["lb_algorithm"]) == ("PROXYV2", "SOURCE_IP")
    [proxy_listener] = cluster.octavia("listeners", "proxy")
    assert (proxy_listener["connection_limit"], proxy_listener["timeout_client_data"],
            proxy_listener["timeout_member_connect"], proxy_listener["timeout_tcp_inspect"]) == (50, 9000, 900, 10)
    [xff] = cluster.octavia("listeners", "xff")
    assert (xff["protocol"], xff["insert_headers"]) == ("HTTP", {"X-Forwarded-For": "true"})
    [monitor] = cluster.octavia("healthmonitors", "xff")
    assert (monitor["type"], monitor["delay"], monitor["timeout"], monitor["max_retries"],
            monitor["max_retries_down"]) == ("TCP", 7, 4, 2, 5)
    [tls] = cluster.octavia("listeners", "tls")
    assert (tls["protocol"], tls["default_tls_container_ref"]) == ("TERMINATED_HTTPS", TLS)
    [placed] = cluster.octavia("loadbalancers", "placed")
    assert (placed["vip_subnet_id"], placed["flavor_id"], placed["availability_zone"]) == (
        subnet["id"], flavor["id"], "az1")
    assert [m["address"] for m in cluster.octavia("members", "placed")] == ["10.0.0.12"]  # role=core: node-2
    assert {m["subnet_id"] for m in cluster.octavia("members", "placed")} == {emu.seed.subnet_id}

    # changes: ports and protocols, ETP, source ranges, affinity; an annotation removed
    cluster.replace_spec("plain", {"ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                             {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                                   "externalTrafficPolicy": "Local", "loadBalancerSourceRanges": ["10.8.0.0/16"],
                                   "sessionAffinity": "ClientIP"})
    cluster.set_annotations("proxy", {ann.PROXY_PROTOCOL.key: None})
    hcnp = cluster.get("plain").spec.health_check_node_port

    def changed() -> None:
        listeners = cluster.octavia("listeners", "plain")
        assert sorted((li["protocol"], li["protocol_port"], tuple(li["allowed_cidrs"] or ())) for li in listeners) == [
            ("TCP", 80, ("10.8.0.0/16",)), ("UDP", 53, ("10.8.0.0/16",))]
        assert {m["type"] for m in cluster.octavia("healthmonitors", "plain")} == {"HTTP"}
        assert {m["monitor_port"] for m in cluster.octavia("members", "plain")} == {hcnp}
        assert {p["session_persistence"]["type"] for p in cluster.octavia("pools", "plain")} == {"SOURCE_IP"}
        assert [p["protocol"] for p in cluster.octavia("pools", "proxy")] == ["TCP"]
    cluster.wait(changed, "port, ETP, range and affinity changes", service="plain")
    assert cluster.ip("plain") == addresses["plain"]  # the floating IP stays

    # nodes: one added, one removed, each a batch member update per pool
    cluster.emu.calls.clear()
    cluster.add_node("node-3", {"role": "core"})
    def members(*want: str) -> None:
        assert sorted(m["address"] for m in cluster.octavia("members", "placed")) == list(want)

    cluster.wait(lambda: members("10.0.0.12", "10.0.0.13"), "node-3 joins", service="placed")
    cluster.core.delete_node("node-2")
    cluster.wait(lambda: members("10.0.0.13"), "node-2 leaves", service="placed")
    member_calls = [c.action for c in cluster.emu.mutating_calls() if c.action.startswith("octavia.members")]
    assert set(member_calls) == {"octavia.members.batch"}

    kept = cluster.hostname("tls")
    for name in cases:
        cluster.delete(name)
    for name in cases:
        wait_for(lambda name=name: cluster.gone(name), 20, message=f"{name} deleted")
    emu.settle()
    left = [r for r in emu.resources() if r["kind"] not in ("networks", "subnets")]  # the test's own vip2
    assert [r["kind"] for r in left] == ["floatingips"], left  # keep-floatingip: kept, no longer tagged ours
    assert not any(t.startswith("kubernetes.io/") for t in left[0]["tags"]) and kept == "web.example.com"


def test_refused_and_invalid_annotations_and_foreign_names_make_no_call(cluster, conn_factory):
    conn = conn_factory()
    foreign = conn.load_balancer.create_load_balancer(name=load_balancer_name(CLUSTER, "default/clash"),
                                                      vip_subnet_id=cluster.emu.seed.subnet_id)
    cluster.emu.settle()
    before = cluster.cloud.counter.totals()
    cluster.service("shared", A(LOAD_BALANCER_ID=foreign.id), ports=PORTS)
    cluster.service("badint", A(CONNECTION_LIMIT="-5", SUBNET_ID="nope"), ports=PORTS)
    cluster.wait_event("shared", "LoadBalancerSharingNotSupported")
    cluster.wait_event("badint", "InvalidAnnotation")
    cluster.service("clash", {}, ports=PORTS)
    cluster.wait_event("clash", "ForeignLoadBalancer")
    assert cluster.cloud.counter.totals()[0] == before[0]  # no mutating call
    assert cluster.ip("shared") is None and cluster.ip("clash") is None
    cluster.delete("clash")
    wait_for(lambda: cluster.gone("clash"), 15, message="clash deleted")
    assert foreign.id in cluster.emu.octavia.objects["loadbalancers"]


def test_user_floating_ip_through_the_controller_is_kept(cluster, conn_factory):
    conn = conn_factory()
    user = conn.network.create_ip(floating_network_id=cluster.emu.seed.external_network_id)
    cluster.service("mine", {}, ports=PORTS, loadBalancerIP=user.floating_ip_address)
    assert cluster.wait_ip("mine") == user.floating_ip_address
    cluster.delete("mine")
    wait_for(lambda: cluster.gone("mine"), 15, message="mine deleted")
    assert [f["id"] for f in cluster.emu.cloud.network.collections["floatingips"].values()] == [user.id]


def test_pending_and_error_load_balancers_through_the_controller(cluster):
    cluster.emu.faults.provisioning_errors(1)
    cluster.service("broken", {}, ports=PORTS)
    events = cluster.wait_event("broken", "LoadBalancerProvisioningError")
    assert any("failover" in e for e in events)
    [lb] = cluster.octavia("loadbalancers", "broken")
    cluster.emu.octavia.failover(lb["id"])
    cluster.emu.faults.conflict_storm(3)
    assert cluster.wait_ip("broken", timeout=60).startswith("172.24.4.")


def test_ccm_controller_with_only_a_cloud_conf(apiserver, api_client, emu, tmp_path):
    """``ccm controller --cloud-provider openstack --cloud-config cloud.conf``: endpoints from the catalog."""
    import signal
    import subprocess
    import sys

    conf = tmp_path / "cloud.conf"
    conf.write_text(emu.cloud_conf())
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    harness = OpenStackCluster(api_client, emu)
    harness.add_node("node-1")
    with (tmp_path / "log.txt").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ccm.cli", "controller", "--cloud-provider", "openstack",
                                 "--cloud-config", str(conf), "--kubeconfig", kubeconfig, "--cluster-name", CLUSTER],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        harness.service("cli", {}, ports=PORTS)
        assert harness.wait_ip("cli", timeout=60).startswith("172.24.4."), (tmp_path / "log.txt").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert sorted(r["kind"] for r in emu.resources() if r["kind"] != "ports") == [
        "floatingips", "listeners", "loadbalancers", "members", "pools"]
