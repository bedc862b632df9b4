"""The adapter against the OpenStack emulator over HTTP: lifecycle, steady state, node sync, floating IPs,
pending load balancers and 409s, ERROR, crashes, throttling, foreign and upstream-made load balancers."""

from __future__ import annotations

import threading

import pytest

from ccm.annotations import openstack as ann
from emulators.openstack.faults import Fault
from providers.openstack.names import load_balancer_name
from providers.port import HealthCheck, RetryError, ServicePort, UserError
from tests.providers.openstack.conftest import CLUSTER, make_cloud, mutating, nodes, request
from tests.util import wait_for

NAME = load_balancer_name(CLUSTER, "default/web")


def octavia(emu, kind):
    return [emu.octavia.view(kind, r) for r in emu.octavia.objects[kind].values()]


def fips(emu):
    return list(emu.cloud.network.collections["floatingips"].values())


def test_lifecycle_create_steady_node_sync_delete(emu, module_cloud):
    lb = module_cloud.load_balancer()
    req = request(emu)
    status = lb.ensure(req).status
    [ingress] = status.ingress
    [fip] = fips(emu)
    assert ingress.ip == fip["floating_ip_address"]
    assert mutating(emu) == ["octavia.loadbalancers.create", "neutron.floatingips.create"]
    [made] = octavia(emu, "loadbalancers")
    assert made["name"] == NAME and made["provisioning_status"] == "ACTIVE"
    assert set(made["tags"]) == {NAME, "kubernetes.io/cluster=c1", "kubernetes.io/service=default/web"}
    assert fip["port_id"] == made["vip_port_id"] and "kubernetes.io/service=default/web" in fip["tags"]
    listeners = {li["protocol_port"]: li for li in octavia(emu, "listeners")}
    assert {p: li["protocol"] for p, li in listeners.items()} == {80: "TCP", 443: "TCP"}
    members = octavia(emu, "members")
    assert sorted((m["address"], m["protocol_port"]) for m in members) == sorted(
        (f"10.0.0.1{i}", port) for i in (1, 2, 3) for port in (30080, 30443))
    assert lb.get(req).ingress[0].ip == ingress.ip

    emu.calls.clear()
    assert lb.ensure(req).status == status
    assert mutating(emu) == [] and len(emu.calls) <= 8

    emu.calls.clear()
    lb.update(request(emu, node_names=("node-1", "node-2")))
    assert mutating(emu) == ["octavia.members.batch", "octavia.members.batch"]  # one call per pool
    assert sorted({m["address"] for m in octavia(emu, "members")}) == ["10.0.0.11", "10.0.0.12"]
    emu.calls.clear()
    lb.update(request(emu, node_names=("node-1", "node-2")))
    assert mutating(emu) == []

    lb.delete(req)
    assert emu.resources() == []
    assert lb.get(req) is None
    lb.delete(req)  # idempotent


def test_internal_load_balancer_and_switching_to_public(emu, module_cloud):
    lb = module_cloud.load_balancer()
    req = request(emu, annotations={ann.INTERNAL_LOAD_BALANCER.key: "true"}, requested_ip="10.0.0.200")
    [ingress] = lb.ensure(req).status.ingress
    assert ingress.ip == "10.0.0.200" and fips(emu) == []
    public = request(emu)
    [ingress] = lb.ensure(public).status.ingress
    assert ingress.ip.startswith("172.24.4.")
    assert mutating(emu)[-1] == "neutron.floatingips.create"
    lb.ensure(req)
    assert fips(emu) == []  # ours, released when the Service became internal
    lb.delete(req)


def test_a_user_floating_ip_is_used_and_never_deleted_keep_floatingip_keeps_ours(emu, module_cloud, conn_factory):
    conn = conn_factory()
    user = conn.network.create_ip(floating_network_id=emu.seed.external_network_id, description="user's")
    emu.calls.clear()
    lb = module_cloud.load_balancer()
    req = request(emu, requested_ip=user.floating_ip_address)
    assert lb.ensure(req).status.ingress[0].ip == user.floating_ip_address
    assert "neutron.floatingips.create" not in mutating(emu)
    lb.delete(req)
    [left] = fips(emu)
    assert left["id"] == user.id and left["description"] == "user's" and left["port_id"] is None

    kept = request(emu, "kept", annotations={ann.KEEP_FLOATINGIP.key: "true"})
    address = lb.ensure(kept).status.ingress[0].ip
    lb.delete(kept)
    still = [f for f in fips(emu) if f["floating_ip_address"] == address]
    assert len(still) == 1 and still[0]["port_id"] is None
    assert not any(t.startswith("kubernetes.io/") for t in still[0]["tags"])  # no longer ours: never collected
    assert module_cloud.inventory().list_owned() == ()


def test_changes_are_applied_in_place_or_by_recreating_what_octavia_cannot_change(emu, module_cloud):
    lb = module_cloud.load_balancer()
    lb.ensure(request(emu))
    changed = request(emu, annotations={
        ann.PROXY_PROTOCOL.key: "v2", ann.TIMEOUT_CLIENT_DATA.key: "1000", ann.LB_METHOD.key: "LEAST_CONNECTIONS",
        ann.CONNECTION_LIMIT.key: "100"}, session_affinity="ClientIP",
        source_ranges=("10.1.0.0/16", "2001:db8::/32"), source_ranges_set=True,
        external_traffic_policy="Local", health_check=HealthCheck("/healthz", 32000))
    emu.calls.clear()
    lb.ensure(changed)
    listeners = octavia(emu, "listeners")
    assert {li["timeout_client_data"] for li in listeners} == {1000}
    assert {tuple(li["allowed_cidrs"]) for li in listeners} == {("10.1.0.0/16",)}  # the VIP's family
    assert {li["connection_limit"] for li in listeners} == {100}
    pools = octavia(emu, "pools")
    assert {(p["protocol"], p["lb_algorithm"], p["session_persistence"]["type"]) for p in pools} == {
        ("PROXYV2", "LEAST_CONNECTIONS", "SOURCE_IP")}
    monitors = octavia(emu, "healthmonitors")
    assert {(m["type"], m["url_path"]) for m in monitors} == {("HTTP", "/healthz")}
    assert {m["monitor_port"] for m in octavia(emu, "members")} == {32000}
    emu.calls.clear()
    lb.ensure(changed)
    assert mutating(emu) == []
    xff = request(emu, annotations={ann.X_FORWARDED_FOR.key: "true"})
    lb.ensure(xff)
    assert {(li["protocol"], li["insert_headers"].get("X-Forwarded-For")) for li in octavia(emu, "listeners")} == {
        ("HTTP", "true")}
    assert {p["protocol"] for p in octavia(emu, "pools")} == {"HTTP"}
    assert octavia(emu, "healthmonitors") == []  # Cluster again: no monitor unless asked
    ports = request(emu, ports=(ServicePort("dns", "UDP", 53, 30053),))
    lb.ensure(ports)
    assert [(li["protocol"], li["protocol_port"]) for li in octavia(emu, "listeners")] == [("UDP", 53)]
    lb.delete(ports)
    assert emu.resources() == []


def test_no_call_is_sent_to_a_pending_load_balancer(emu, module_cloud):
    lb = module_cloud.load_balancer()
    req = request(emu)
    lb.ensure(req)
    emu.octavia_settings.hold = True
    other = request(emu, annotations={ann.TIMEOUT_CLIENT_DATA.key: "2000", ann.LB_METHOD.key: "SOURCE_IP"})
    emu.calls.clear()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (lb.ensure(other), done.set()))
    worker.start()
    wait_for(lambda: len(mutating(emu)) >= 1, message="the first update")
    wait_for(lambda: sum(c.action == "octavia.loadbalancers.get" for c in emu.calls) >= 3, message="polling")
    assert len(mutating(emu)) == 1 and not done.is_set()  # polling, not piling calls on the pending job
    emu.octavia_settings.hold = False
    worker.join(10)
    assert done.is_set()
    assert [c.status for c in emu.calls if c.mutating and c.status == 409] == []
    assert {li["timeout_client_data"] for li in octavia(emu, "listeners")} == {2000}


def test_a_409_storm_is_waited_out_and_a_lasting_one_is_a_fixed_delay_retry(emu, module_cloud):
    lb = module_cloud.load_balancer()
    req = request(emu)
    lb.ensure(req)
    emu.faults.conflict_storm(2)
    lb.ensure(request(emu, annotations={ann.CONNECTION_LIMIT.key: "5"}))
    assert {li["connection_limit"] for li in octavia(emu, "listeners")} == {5}
    emu.faults.conflict_storm(50)
    with pytest.raises(RetryError):
        lb.ensure(request(emu, annotations={ann.CONNECTION_LIMIT.key: "6"}))


def test_error_provisioning_is_a_warning_and_a_retry(emu, module_cloud):
    lb = module_cloud.load_balancer()
    lb.ensure(request(emu))
    emu.faults.provisioning_errors(1)
    with pytest.raises(UserError) as err:
        lb.ensure(request(emu, annotations={ann.CONNECTION_LIMIT.key: "7"}))
    assert err.value.reason == "LoadBalancerProvisioningError"
    assert isinstance(err.value.__cause__, RetryError)
    emu.calls.clear()
    with pytest.raises(UserError):  # still ERROR: nothing is sent until an operator fails it over
        lb.ensure(request(emu, annotations={ann.CONNECTION_LIMIT.key: "7"}))
    assert mutating(emu) == []
    [made] = octavia(emu, "loadbalancers")
    emu.octavia.failover(made["id"])
    lb.ensure(request(emu, annotations={ann.CONNECTION_LIMIT.key: "7"}))
    assert {li["connection_limit"] for li in octavia(emu, "listeners")} == {7}
    lb.delete(request(emu))
    assert emu.resources() == []


def test_crash_after_each_mutating_call_converges_without_duplicates_or_leftovers(emu, module_cloud):
    """A fresh provider (a restarted controller) finishes what a crashed one started, at every point."""
    fresh = module_cloud.load_balancer()
    req = request(emu, annotations={ann.PROXY_PROTOCOL.key: "true"}, external_traffic_policy="Local",
                  health_check=HealthCheck("/healthz", 32000))
    changed = request(emu, annotations={ann.X_FORWARDED_FOR.key: "true"})
    crashed_cloud = make_cloud(emu)
    crashed = crashed_cloud.load_balancer()
    try:
        for step, target in enumerate((req, changed)):
            emu.reset()
            if step:
                fresh.ensure(req)
            emu.calls.clear()
            fresh.ensure(target)
            calls = len(mutating(emu))
            assert calls >= (2 if step == 0 else 4)
            for k in range(calls):
                emu.reset()
                if step:
                    fresh.ensure(req)
                emu.faults.crash_after(k)
                with pytest.raises(Exception):  # noqa: B017 - whatever the crash looks like
                    crashed.ensure(target)
                emu.faults.clear()
                fresh.ensure(target)
                emu.calls.clear()
                fresh.ensure(target)
                assert mutating(emu) == [], f"not converged after a crash at call {k}"
                assert len(octavia(emu, "loadbalancers")) == 1 and len(fips(emu)) == 1, f"duplicates at {k}"
        for k in range(2):
            emu.reset()
            fresh.ensure(req)
            emu.faults.crash_after(k)
            with pytest.raises(Exception):  # noqa: B017
                crashed.delete(req)
            emu.faults.clear()
            fresh.delete(req)
            emu.settle()
            assert emu.resources() == [], f"leftovers after a crash at delete call {k}"
    finally:
        crashed_cloud.close()


def test_a_lost_answer_does_not_duplicate_the_load_balancer(emu, module_cloud):
    lb = module_cloud.load_balancer()
    emu.faults.fail_nth_mutation(1, 503, after_apply=True)
    with pytest.raises(RetryError):
        lb.ensure(request(emu))
    lb.ensure(request(emu))
    assert len(octavia(emu, "loadbalancers")) == 1 and len(fips(emu)) == 1


def test_throttling_is_retried_then_a_retry_error(emu, module_cloud):
    lb = module_cloud.load_balancer()
    emu.faults.throttle(1.0, actions="octavia.loadbalancers.create", retry_after=0)
    with pytest.raises(RetryError):
        lb.ensure(request(emu))
    assert emu.call_counts()["octavia.loadbalancers.create"] == 3  # the shared policy's attempts
    emu.faults.clear()
    emu.faults.throttle(1.0, actions="octavia.loadbalancers.create", retry_after=0).times = 1
    lb.ensure(request(emu))
    assert len(octavia(emu, "loadbalancers")) == 1


def test_a_throttled_or_unavailable_read_is_retried_inside_the_call(emu, module_cloud):
    """Found by the reliability harness: one 429 or 5xx among an ensure's reads failed the whole reconcile
    (a 10 s requeue each), so with 20% of requests failing a Service took minutes to converge."""
    lb = module_cloud.load_balancer()
    unavailable = emu.faults.add(Fault(actions="octavia.loadbalancers.list", mutating=False, status=503, times=1))
    throttled = emu.faults.add(Fault(actions="neutron.*", mutating=False, status=429, retry_after=0, times=2))
    lb.ensure(request(emu))
    assert unavailable.hits == 1 and throttled.hits == 2
    assert len(octavia(emu, "loadbalancers")) == 1
    emu.faults.clear()
    lasting = emu.faults.add(Fault(actions="octavia.*", mutating=False, status=429, retry_after=0))
    with pytest.raises(RetryError):  # a lasting one is still a RetryError, after the retries
        lb.ensure(request(emu))
    assert lasting.hits == 4


def test_foreign_load_balancer_with_our_name_is_never_touched(emu, module_cloud, conn_factory):
    conn = conn_factory()
    foreign = conn.load_balancer.create_load_balancer(name=NAME, vip_subnet_id=emu.seed.subnet_id, tags=["theirs"])
    emu.settle()
    lb = module_cloud.load_balancer()
    with pytest.raises(UserError) as err:
        lb.ensure(request(emu))
    assert err.value.reason == "ForeignLoadBalancer"
    assert lb.get(request(emu)) is None
    lb.delete(request(emu))
    assert mutating(emu) == ["octavia.loadbalancers.create"]  # only the test's own
    assert emu.octavia.objects["loadbalancers"][foreign.id]["tags"] == ["theirs"]


def test_a_load_balancer_made_by_cloud_provider_openstack_is_ours(emu, module_cloud, conn_factory):
    conn = conn_factory()
    old = conn.load_balancer.create_load_balancer(name=NAME, vip_subnet_id=emu.seed.subnet_id, tags=[NAME])
    emu.settle()
    lb = module_cloud.load_balancer()
    lb.ensure(request(emu))
    assert [x["id"] for x in octavia(emu, "loadbalancers")] == [old.id]
    assert "kubernetes.io/service=default/web" in emu.octavia.objects["loadbalancers"][old.id]["tags"]


def test_user_errors_before_any_call(emu, module_cloud):
    lb = module_cloud.load_balancer()
    with pytest.raises(UserError, match="exclude each other"):
        lb.ensure(request(emu, annotations={ann.X_FORWARDED_FOR.key: "true", ann.PROXY_PROTOCOL.key: "true"}))
    with pytest.raises(UserError, match="no IPv4 range"):
        lb.ensure(request(emu, source_ranges=("2001:db8::/32",), source_ranges_set=True))
    with pytest.raises(UserError, match="LoadBalancerClass"):
        lb.ensure(request(emu, annotations={ann.CLASS.key: "dmz"}))
    assert mutating(emu) == []
    ovn = make_cloud(emu, lb_provider="ovn")
    try:
        with pytest.raises(UserError, match="cannot restrict source ranges"):
            ovn.load_balancer().ensure(request(emu, source_ranges=("10.0.0.0/8",), source_ranges_set=True))
        ovn.load_balancer().ensure(request(emu, "plain"))
        assert {p["lb_algorithm"] for p in octavia(emu, "pools")} == {"SOURCE_IP_PORT"}
    finally:
        ovn.close()


def test_quota_is_a_user_error_with_nothing_half_made(emu, module_cloud):
    emu.set_quota("neutron", floatingip=0)
    lb = module_cloud.load_balancer()
    with pytest.raises(UserError) as err:
        lb.ensure(request(emu))
    assert err.value.reason == "OpenStackRejected" and "Quota exceeded" in str(err.value)
    emu.set_quota("neutron", floatingip=5)
    lb.ensure(request(emu))
    assert len(fips(emu)) == 1 and len(octavia(emu, "loadbalancers")) == 1


def test_members_use_the_node_address_on_the_member_subnet_and_the_node_selector(emu, module_cloud):
    lb = module_cloud.load_balancer()
    stray = nodes(emu, "node-3")[0]
    moved = type(stray)(stray.name, stray.provider_id, (), stray.labels)  # no address in status: found by port
    req = request(emu, annotations={ann.NODE_SELECTOR.key: "role=core"}, nodes=(*nodes(emu, "node-1", "node-2"), moved))
    lb.ensure(req)
    assert {m["address"] for m in octavia(emu, "members")} == {"10.0.0.12", "10.0.0.13"}


def test_application_credentials_tls_and_hostname(emu):
    cloud = make_cloud(emu, application_credential=True, enable_ingress_hostname="true")
    try:
        lb = cloud.load_balancer()
        ref = "https://barbican.example/v1/containers/web"
        [ingress] = lb.ensure(request(emu, annotations={ann.DEFAULT_TLS_CONTAINER_REF.key: ref,
                                                        ann.HOSTNAME.key: "web.example.com"})).status.ingress
        assert ingress.hostname == "web.example.com" and ingress.ip is None
        assert {(li["protocol"], li["default_tls_container_ref"]) for li in octavia(emu, "listeners")} == {
            ("TERMINATED_HTTPS", ref)}
        [ingress] = lb.ensure(request(emu, "pp", annotations={ann.PROXY_PROTOCOL.key: "true"})).status.ingress
        assert ingress.hostname.endswith(".nip.io") and ingress.hostname.startswith("172.24.4.")
    finally:
        cloud.close()


def test_inventory_lists_and_deletes_by_tags(emu, module_cloud):
    lb = module_cloud.load_balancer()
    lb.ensure(request(emu, "a"))
    lb.ensure(request(emu, "b", annotations={ann.INTERNAL_LOAD_BALANCER.key: "true"}))
    inv = module_cloud.inventory()
    assert {(r.resource.type, r.service) for r in inv.list_owned()} == {
        ("octavia/load-balancer", "default/a"), ("neutron/floating-ip", "default/a"),
        ("octavia/load-balancer", "default/b")}
    deleted = inv.delete_owned("default/a")
    assert len(deleted) == 2
    assert {r.service for r in inv.list_owned()} == {"default/b"}
    assert inv.delete_owned("default/a") == ()


def test_planner_offline_and_live(emu, module_cloud):
    planner = module_cloud.planner()
    offline = planner.plan_offline(request(emu))
    assert [op.describe().split(":")[0] for op in offline] == [
        f"create octavia/load-balancer {NAME}", "create neutron/floating-ip <floating-ip>"]
    assert offline[1].to_json()["call"]["params"]["port_id"] == "<lb.vip_port_id>"
    module_cloud.load_balancer().ensure(request(emu))
    emu.calls.clear()
    assert planner.plan_live(request(emu)) == ()
    assert [op.action for op in planner.plan_live(request(emu, annotations={ann.CONNECTION_LIMIT.key: "3"}))] == [
        "update_listener", "update_listener"]
    assert mutating(emu) == []


def test_instances(emu, module_cloud):
    inst = module_cloud.instances()
    [node] = nodes(emu, "node-1")
    assert inst.instance_exists(node) and not inst.instance_shutdown(node)
    meta = inst.instance_metadata(node)
    assert (meta.provider_id, meta.instance_type, meta.zone, meta.region) == (node.provider_id, "m1.small", "nova",
                                                                              "RegionOne")
    assert [(a.type, a.address) for a in meta.node_addresses] == [("InternalIP", "10.0.0.11"), ("Hostname", "node-1")]
    server_id = node.provider_id.rsplit("/", 1)[-1]
    emu.set_server_status(server_id, "SHUTOFF")
    assert inst.instance_shutdown(node)
    emu.remove_server(server_id)
    assert not inst.instance_exists(node)
    by_name = type(node)("node-2")
    assert inst.instance_metadata(by_name).provider_id.startswith("openstack:///")


def test_network_placement_annotations_and_classes(emu, conn_factory):
    extra = emu.add_subnet("172.30.0.0/24", name="dmz-fips", external=True)
    emu.cloud.network.collections["subnets"][extra["id"]]["tags"] = ["dmz", "public"]
    cloud = make_cloud(emu, extra_conf=f'\n[LoadBalancerClass "dmz"]\nfloating-network-id = {extra["network_id"]}\n'
                                       f"floating-subnet-tags = &dmz,public\n")
    try:
        lb = cloud.load_balancer()
        by_class = lb.ensure(request(emu, "cls", annotations={ann.CLASS.key: "dmz"})).status.ingress[0].ip
        assert by_class.startswith("172.30.0.")
        by_name = lb.ensure(request(emu, "named", annotations={
            ann.FLOATING_NETWORK_ID.key: extra["network_id"], ann.FLOATING_SUBNET.key: "dmz-fips"})).status
        assert by_name.ingress[0].ip.startswith("172.30.0.")
        on_net = lb.ensure(request(emu, "net", annotations={ann.NETWORK_ID.key: emu.seed.network_id,
                                                            ann.SUBNET_ID.key: emu.seed.subnet_id,
                                                            ann.INTERNAL_LOAD_BALANCER.key: "true"}))
        assert on_net.status.ingress[0].ip.startswith("10.0.0.")
        port = conn_factory().network.create_port(network_id=emu.seed.network_id, name="my-vip")
        own = lb.ensure(request(emu, "port", annotations={ann.PORT_ID.key: port.id,
                                                          ann.INTERNAL_LOAD_BALANCER.key: "true",
                                                          ann.LOAD_BALANCER_ADDRESS.key: "1.2.3.4"}))
        assert own.status.ingress[0].ip == port.fixed_ips[0]["ip_address"]
        [made] = [x for x in octavia(emu, "loadbalancers") if x["name"].endswith("_port")]
        again = lb.ensure(request(emu, "port", annotations={ann.PORT_ID.key: port.id,
                                                            ann.INTERNAL_LOAD_BALANCER.key: "true",
                                                            ann.LOAD_BALANCER_ID.key: made["id"]}))
        assert again.status == own.status
        for name in ("cls", "named", "net", "port"):
            lb.delete(request(emu, name))
        assert [r["kind"] for r in emu.resources() if r["kind"] in ("loadbalancers", "floatingips")] == []
        assert conn_factory().network.get_port(port.id).name == "my-vip"  # the user's VIP port stays
    finally:
        cloud.close()
