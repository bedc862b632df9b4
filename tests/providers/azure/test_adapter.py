"""The Azure adapter against the ARM emulator over HTTPS, through azure-mgmt-network."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from ccm.annotations import azure as ann
from emulators.azure import Fault
from providers.azure.names import service_base
from providers.port import RetryError, ServicePort, UserError
from tests.providers.azure.harness import (
    CLUSTER,
    LOCATION,
    NSG,
    RG,
    AzureWorld,
    local,
    make_cloud,
    request,
)

BASE = "a1234abcd00004000800000000000bee"
PIP = f"{CLUSTER}-{BASE}"


def mutations(cloud: Any) -> int:
    return cloud.counter.totals()[0]


def test_create_steady_get_and_delete(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    req = request(world)
    result = lb.ensure(req)
    pip = world.public_ip(PIP)
    assert pip is not None and pip["sku"]["name"] == "Standard"
    assert pip["properties"]["publicIPAllocationMethod"] == "Static"
    assert pip["tags"] == {"k8s-azure-service": "default/web", "k8s-azure-cluster-name": CLUSTER}
    assert [i.ip for i in result.status.ingress] == [pip["properties"]["ipAddress"]]
    assert world.lb()["tags"]["k8s-azure-cluster-name"] == CLUSTER
    assert world.children("loadBalancingRules") == [f"{BASE}-TCP-443", f"{BASE}-TCP-80"]
    rule = world.rule(f"{BASE}-TCP-80")
    assert (rule["frontendPort"], rule["backendPort"], rule["enableFloatingIP"], rule["enableTcpReset"],
            rule["idleTimeoutInMinutes"], rule["loadDistribution"]) == (80, 80, True, True, 4, "Default")
    probe = world.probe(f"{BASE}-TCP-80")
    assert (probe["protocol"], probe["port"], probe["intervalInSeconds"], probe["numberOfProbes"]) == ("Tcp", 30080, 5, 2)
    assert [world.nic_pools(vm) for vm in world.vms] == [[CLUSTER], [CLUSTER]]
    nsg_rule = world.nsg_rules()[f"{BASE}-TCP-Internet"]
    assert (nsg_rule["sourceAddressPrefix"], nsg_rule["destinationAddressPrefix"], nsg_rule["destinationPortRanges"],
            nsg_rule["priority"], nsg_rule["access"]) == ("Internet", result.status.ingress[0].ip, ["80", "443"], 501,
                                                          "Allow")

    before = mutations(cloud)
    assert lb.ensure(req).status == result.status
    assert lb.update(req) == ()
    assert mutations(cloud) == before  # steady: reads only
    assert lb.get(req).ingress[0].ip == result.status.ingress[0].ip

    lb.delete(req)
    assert world.ours() == []
    assert list(world.nsg_rules()) == ["allow-ssh"]  # the user's rule is untouched
    assert [world.nic_pools(vm) for vm in world.vms] == [[], []]
    assert lb.get(req) is None
    lb.delete(req)  # idempotent


def test_services_share_one_load_balancer(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    a = request(world, name="a", uid="aaaaaaaa-0000-4000-8000-000000000001")
    b = request(world, name="b", uid="bbbbbbbb-0000-4000-8000-000000000002",
                ports=(ServicePort("dns", "UDP", 53, 30053),))
    lb.ensure(a)
    lb.ensure(b)
    assert len(world.children("frontendIPConfigurations")) == 2
    b_base = service_base(b.uid)
    assert f"{b_base}-UDP-53" not in world.children("probes")  # UDP: no probe
    lb.delete(a)
    assert [n[:9] for n in world.children("frontendIPConfigurations")] == ["abbbbbbbb"]
    assert world.children("loadBalancingRules") == [f"{b_base}-UDP-53"]
    lb.delete(b)
    assert world.lb() is None and world.ours() == []


def test_internal_service_and_moves_between_the_load_balancers(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    internal = {ann.LOAD_BALANCER_INTERNAL.key: "true"}
    public_status = lb.ensure(request(world)).status
    assert world.public_ip(PIP) is not None
    status = lb.ensure(request(world, internal)).status
    assert status.ingress[0].ip.startswith("10.240.")
    assert world.lb() is None and world.public_ip(PIP) is None  # the public one emptied and went, with its IP
    assert world.children("frontendIPConfigurations", internal=True) == [BASE]
    assert [world.nic_pools(vm) for vm in world.vms] == [[f"{CLUSTER}-internal"]] * 2  # pools by load balancer
    assert f"{BASE}-TCP-Internet" not in world.nsg_rules()  # internal without ranges: VNet traffic only
    back = lb.ensure(request(world)).status
    assert back.ingress[0].ip != public_status.ingress[0].ip or back.ingress[0].ip  # a new public IP
    assert world.lb(internal=True) is None and world.children("frontendIPConfigurations") == [BASE]
    lb.delete(request(world))
    assert world.ours() == []


def test_internal_static_ip_subnet_and_arm_refusals(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    req = request(world, {ann.LOAD_BALANCER_INTERNAL.key: "true", ann.LOAD_BALANCER_INTERNAL_SUBNET.key: "ilb-subnet",
                          ann.LOAD_BALANCER_IPV4.key: "10.240.16.10"})
    assert lb.ensure(req).status.ingress[0].ip == "10.240.16.10"
    assert world.children("frontendIPConfigurations", internal=True) == [f"{BASE}-ilb-subnet"]
    assert f"{BASE}-ilb-subnet-TCP-80" in world.children("loadBalancingRules", internal=True)
    wrong = dataclasses.replace(req, requested_ip="10.9.9.9",
                                annotations={k: v for k, v in req.annotations.items() if k != ann.LOAD_BALANCER_IPV4.key})
    with pytest.raises(UserError) as e:
        lb.ensure(wrong)
    assert e.value.reason == "PrivateIPAddressNotInSubnet" and "10.9.9.9" in str(e.value)
    assert lb.ensure(req).status.ingress[0].ip == "10.240.16.10"  # nothing half-made


def test_traffic_policy_and_port_changes(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    lb.ensure(request(world))
    lb.ensure(local(request(world), hcnp=32000))
    assert world.children("probes") == [f"{BASE}-TCP-32000"]
    probe = world.probe(f"{BASE}-TCP-32000")
    assert (probe["protocol"], probe["port"], probe["requestPath"]) == ("Http", 32000, "/healthz")
    assert all(world.rule(r)["probe"]["id"].endswith("-TCP-32000") for r in world.children("loadBalancingRules"))
    lb.ensure(request(world, ports=(ServicePort("http", "TCP", 8080, 31080, app_protocol="http"),)))
    assert world.children("loadBalancingRules") == [f"{BASE}-TCP-8080"]
    probe = world.probe(f"{BASE}-TCP-8080")
    assert (probe["protocol"], probe["requestPath"]) == ("Http", "/")  # appProtocol http, upstream's default path
    assert world.nsg_rules()[f"{BASE}-TCP-Internet"]["destinationPortRange"] == "8080"


@pytest.mark.parametrize(("annotations", "check"), [
    pytest.param({ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "30", ann.LOAD_BALANCER_DISABLE_TCP_RESET.key: "true"},
                 lambda w: (w.rule(f"{BASE}-TCP-80")["idleTimeoutInMinutes"], w.rule(f"{BASE}-TCP-80")["enableTcpReset"])
                 == (30, False), id="idle-timeout-tcp-reset"),
    pytest.param({ann.DISABLE_LOAD_BALANCER_FLOATING_IP.key: "true"},
                 lambda w: (w.rule(f"{BASE}-TCP-80")["backendPort"], w.rule(f"{BASE}-TCP-80")["enableFloatingIP"],
                            sorted(w.nsg_rules()[f"{BASE}-TCP-Internet"]["destinationAddressPrefixes"]),
                            w.nsg_rules()[f"{BASE}-TCP-Internet"]["destinationPortRanges"])
                 == (30080, False, ["10.240.0.4", "10.240.0.5"], ["30080", "30443"]), id="no-floating-ip"),
    pytest.param({ann.LOAD_BALANCER_HEALTH_PROBE_PROTOCOL.key: "http",
                  ann.LOAD_BALANCER_HEALTH_PROBE_REQUEST_PATH.key: "/ready",
                  ann.LOAD_BALANCER_HEALTH_PROBE_INTERVAL.key: "10", ann.LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE.key: "3"},
                 lambda w: {k: w.probe(f"{BASE}-TCP-443")[k] for k in ("protocol", "requestPath", "intervalInSeconds",
                                                                        "numberOfProbes")}
                 == {"protocol": "Http", "requestPath": "/ready", "intervalInSeconds": 10, "numberOfProbes": 3},
                 id="probe-settings"),
    pytest.param({ann.PORT_HEALTH_PROBE_PROTOCOL.key_for(port=80): "Https", ann.PORT_HEALTH_PROBE_PORT.key_for(port=80): "https",
                  ann.PORT_NO_PROBE_RULE.key_for(port=443): "true"},
                 lambda w: (w.probe(f"{BASE}-TCP-80")["protocol"], w.probe(f"{BASE}-TCP-80")["port"],
                            "probe" in w.rule(f"{BASE}-TCP-443"), w.children("probes"))
                 == ("Https", 30443, False, [f"{BASE}-TCP-80"]), id="per-port-probes"),
    pytest.param({ann.PORT_NO_LB_RULE.key_for(port=443): "true"},
                 lambda w: (w.children("loadBalancingRules"), w.nsg_rules()[f"{BASE}-TCP-Internet"]["destinationPortRange"])
                 == ([f"{BASE}-TCP-80"], "80"), id="no-lb-rule"),
    pytest.param({ann.ALLOWED_SERVICE_TAGS.key: "AzureFrontDoor.Backend", ann.ALLOWED_IP_RANGES.key: "198.51.100.0/24",
                  ann.DENY_ALL_EXCEPT_LOAD_BALANCER_SOURCE_RANGES.key: "true"},
                 lambda w: sorted((n.split("-", 1)[1], r["access"], r.get("sourceAddressPrefix"), r["priority"])
                                  for n, r in w.nsg_rules().items() if n.startswith(BASE))
                 == [("TCP-AzureFrontDoor.Backend", "Allow", "AzureFrontDoor.Backend", 501),
                     ("TCP-IPv4", "Allow", "198.51.100.0/24", 502), ("deny-all", "Deny", "*", 503)], id="nsg-sources"),
    pytest.param({ann.DISABLE_LOAD_BALANCER_NSG_RULE.key: "true"},
                 lambda w: list(w.nsg_rules()) == ["allow-ssh"], id="no-nsg-rules"),
    pytest.param({ann.DNS_LABEL_NAME.key: "my-web", ann.PIP_TAGS.key: "team=web,cost=1",
                  ann.PIP_IP_TAGS.key: "RoutingPreference=Internet"},
                 lambda w: (w.public_ip(PIP)["properties"]["dnsSettings"]["fqdn"], w.public_ip(PIP)["tags"]["team"],
                            w.public_ip(PIP)["tags"]["k8s-azure-dns-label-service"],
                            w.public_ip(PIP)["properties"]["ipTags"])
                 == (f"my-web.{LOCATION}.cloudapp.azure.com", "web", "default/web",
                     [{"ipTagType": "RoutingPreference", "tag": "Internet"}]), id="public-ip-settings"),
])
def test_annotations_take_effect(world: AzureWorld, cloud: Any, annotations: dict[str, str], check: Any) -> None:
    lb = cloud.load_balancer()
    req = request(world, annotations)
    lb.ensure(req)
    assert check(world)
    before = mutations(cloud)
    lb.ensure(req)
    assert mutations(cloud) == before
    lb.delete(req)
    assert world.ours() == [] and list(world.nsg_rules()) == ["allow-ssh"]


def test_source_ranges_and_additional_ips(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    req = request(world, {ann.ADDITIONAL_PUBLIC_IPS.key: "192.0.2.77"}, source_ranges=("203.0.113.0/24",),
                  source_ranges_set=True)
    status = lb.ensure(req).status
    assert [i.ip for i in status.ingress][1:] == ["192.0.2.77"]
    rule = world.nsg_rules()[f"{BASE}-TCP-IPv4"]
    assert rule["sourceAddressPrefix"] == "203.0.113.0/24"
    assert sorted(rule["destinationAddressPrefixes"]) == sorted([status.ingress[0].ip, "192.0.2.77"])
    both = request(world, {ann.ALLOWED_IP_RANGES.key: "10.0.0.0/8"}, source_ranges=("203.0.113.0/24",),
                   source_ranges_set=True)
    with pytest.raises(UserError, match="cannot set both"):
        lb.ensure(both)


def test_ha_ports_on_internal_only(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    ha = {ann.LOAD_BALANCER_ENABLE_HIGH_AVAILABILITY_PORTS.key: "true"}
    lb.ensure(request(world, {**ha, ann.LOAD_BALANCER_INTERNAL.key: "true"}))
    rule = world.rule(f"{BASE}-HA-0", internal=True)
    assert (rule["protocol"], rule["frontendPort"], rule["backendPort"]) == ("All", 0, 0)
    result = lb.ensure(request(world, ha))  # public: per-port rules and a warning
    assert [w.reason for w in result.warnings] == ["HighAvailabilityPortsIgnored"]
    assert world.children("loadBalancingRules") == [f"{BASE}-TCP-443", f"{BASE}-TCP-80"]


def test_user_public_ip_is_used_and_never_deleted(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    net = cloud.clients.network
    byo = net.public_ip_addresses.begin_create_or_update(RG, "my-ip", {
        "location": LOCATION, "sku": {"name": "Standard"}, "tags": {"owner": "me"},
        "properties": {"publicIPAllocationMethod": "Static"}}).result()
    with pytest.raises(UserError) as e:
        lb.ensure(request(world, {ann.PIP_NAME.key: "missing-ip"}))
    assert e.value.reason == "PublicIPNotFound"
    req = request(world, {ann.PIP_NAME.key: "my-ip"})
    assert lb.ensure(req).status.ingress[0].ip == byo.ip_address
    assert world.public_ip(PIP) is None
    by_address = request(world, requested_ip=byo.ip_address)
    assert lb.ensure(by_address).status.ingress[0].ip == byo.ip_address
    lb.delete(req)
    assert world.public_ip("my-ip")["tags"] == {"owner": "me"}
    assert world.lb() is None


def test_foreign_resources_are_never_touched(world: AzureWorld, cloud: Any, arm: Any) -> None:
    lb = cloud.load_balancer()
    net = cloud.clients.network
    net.public_ip_addresses.begin_create_or_update(RG, PIP, {
        "location": LOCATION, "sku": {"name": "Standard"}, "tags": {"owner": "someone"},
        "properties": {"publicIPAllocationMethod": "Static"}}).result()
    with pytest.raises(UserError) as e:
        lb.ensure(request(world))
    assert e.value.reason == "ForeignLoadBalancer"
    lb.delete(request(world))
    assert world.public_ip(PIP)["tags"] == {"owner": "someone"}
    net.public_ip_addresses.begin_delete(RG, PIP).result()
    # a foreign frontend on our load balancer keeps it alive after our last Service goes
    lb.ensure(request(world))
    other = net.public_ip_addresses.begin_create_or_update(RG, "theirs", {
        "location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}).result()
    body = net.load_balancers.get(RG, CLUSTER).as_dict()
    body["properties"]["frontendIPConfigurations"].append(
        {"name": "their-frontend", "properties": {"publicIPAddress": {"id": other.id}}})
    net.load_balancers.begin_create_or_update(RG, CLUSTER, body).result()
    lb.delete(request(world))
    assert world.children("frontendIPConfigurations") == ["their-frontend"]
    # a load balancer with our name but not our tag
    net.load_balancers.begin_delete(RG, CLUSTER).result() if False else None
    untagged = net.load_balancers.get(RG, CLUSTER).as_dict()
    untagged["tags"] = {}
    net.load_balancers.begin_create_or_update(RG, CLUSTER, untagged).result()
    with pytest.raises(UserError) as e:
        lb.ensure(request(world, uid="cccccccc-0000-4000-8000-000000000003", name="c"))
    assert e.value.reason == "ForeignLoadBalancer"
    assert world.children("frontendIPConfigurations") == ["their-frontend"]


def test_many_services_at_once_lose_nothing_and_batch(world: AzureWorld, arm: Any) -> None:
    cloud = make_cloud(arm)
    lb = cloud.load_balancer()
    reqs = [request(world, name=f"s{i}", uid=f"{i:08x}-0000-4000-8000-000000000000") for i in range(8)]
    errors: list[BaseException] = []

    def run(fn: Any, r: Any) -> None:
        try:
            fn(r)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(lb.ensure, r)) for r in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(world.children("frontendIPConfigurations")) == 8
    assert len(world.children("loadBalancingRules")) == 16 and len(world.children("probes")) == 16
    assert len([n for n in world.nsg_rules() if n != "allow-ssh"]) == 8
    assert lb.writer.commits < lb.writer.edits  # some PUTs carried several Services' edits
    threads = [threading.Thread(target=run, args=(lb.delete, r)) for r in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and world.ours() == [] and list(world.nsg_rules()) == ["allow-ssh"]
    cloud.close()


def test_node_added_and_removed(world: AzureWorld, cloud: Any) -> None:
    lb = cloud.load_balancer()
    reqs = [request(world, name=f"s{i}", uid=f"{i:08x}-0000-4000-8000-000000000000") for i in range(3)]
    for r in reqs:
        lb.ensure(r)
    vm = world.add_vm("node-2")
    before = mutations(cloud)
    for r in reqs:
        lb.update(r.with_nodes(world.nodes()))
    assert mutations(cloud) - before == 1  # one NIC update for all Services
    assert world.nic_pools(vm) == [CLUSTER]
    gone = world.vms[0]
    for r in reqs:
        lb.update(r.with_nodes(world.nodes()[1:]))
    assert world.nic_pools(gone) == []


def test_ip_based_backend_pool(world: AzureWorld, arm: Any) -> None:
    cloud = make_cloud(arm, loadBalancerBackendPoolConfigurationType="nodeIP")
    lb = cloud.load_balancer()
    req = request(world)
    lb.ensure(req)
    pool = world.lb()["properties"]["backendAddressPools"][0]["properties"]
    assert sorted(a["properties"]["ipAddress"] for a in pool["loadBalancerBackendAddresses"]) == ["10.240.0.4", "10.240.0.5"]
    assert [world.nic_pools(vm) for vm in world.vms] == [[], []]
    world.add_vm("node-2")
    before = mutations(cloud)
    lb.update(req.with_nodes(world.nodes()))
    lb.update(request(world, name="x", uid="dddddddd-0000-4000-8000-000000000004").with_nodes(world.nodes()))
    assert mutations(cloud) - before == 1
    lb.delete(req)
    assert world.ours() == []
    cloud.close()


@pytest.mark.parametrize("k", range(1, 6))
def test_crash_after_the_kth_mutating_call_converges(world: AzureWorld, arm: Any, k: int) -> None:
    cloud = make_cloud(arm, **{"azure-retry-total": "0"})
    lb = cloud.load_balancer()
    req = request(world)
    arm.faults.fail_nth_mutation(k, when="after")
    with pytest.raises(Exception):  # noqa: B017 - any failure: the response was lost
        lb.ensure(req)
    lb.ensure(req)
    before = mutations(cloud)
    status = lb.ensure(req).status
    assert mutations(cloud) == before
    assert len(world.children("frontendIPConfigurations")) == 1 and len(world.nsg_rules()) == 2
    assert status.ingress[0].ip == world.public_ip(PIP)["properties"]["ipAddress"]
    arm.faults.fail_nth_mutation(k, when="after")
    try:
        lb.delete(req)
    except Exception:
        lb.delete(req)
    assert world.ours() == [] and list(world.nsg_rules()) == ["allow-ssh"]
    assert [world.nic_pools(vm) for vm in world.vms] == [[], []]
    cloud.close()


def test_throttling_failed_operations_and_412(world: AzureWorld, cloud: Any, arm: Any) -> None:
    lb = cloud.load_balancer()
    req = request(world)
    arm.faults.throttle(retry_after=0, times=1)
    lb.ensure(req)  # retried by the SDK
    arm.faults.throttle(retry_after=7)
    impatient = make_cloud(arm, **{"azure-retry-total": "0"})  # the SDK would wait the 7 s itself
    with pytest.raises(RetryError) as e:
        impatient.load_balancer().ensure(dataclasses.replace(req, ports=req.ports[:1]))
    impatient.close()
    assert e.value.retry_after == 7
    arm.faults.clear()
    arm.faults.fail_operations("RetryableError", path="/loadBalancers/")
    with pytest.raises(RetryError):
        lb.ensure(dataclasses.replace(req, ports=req.ports[:1]))
    arm.faults.add(Fault(method="PUT", path="/loadBalancers/", status=412, code="PreconditionFailed", times=1))
    lb.ensure(dataclasses.replace(req, ports=req.ports[:1]))
    assert world.children("loadBalancingRules") == [f"{BASE}-TCP-80"]
    assert [c.status for c in arm.calls.all() if c.method == "PUT" and "/loadBalancers/" in c.path][-2:] == [412, 200]


def test_config_errors_and_unknown_options(arm: Any, caplog: Any) -> None:
    with pytest.raises(ValueError, match="needs subscriptionId"):
        make_cloud(arm, subscriptionId="")
    with pytest.raises(ValueError, match="Basic is retired"):
        make_cloud(arm, loadBalancerSku="basic")
    # an option nobody reads (a --provider-option typo, another cloud's flag) is refused, naming it
    with pytest.raises(ValueError, match="azure provider: unknown option securityGroupNmae"):
        make_cloud(arm, securityGroupNmae="typo")
    with pytest.raises(ValueError, match="unknown option aws-endpoint-url"):
        make_cloud(arm, **{"aws-endpoint-url": "http://127.0.0.1:1"})
    caplog.set_level("INFO", logger="providers.azure.config")
    cloud = make_cloud(arm, maximumLoadBalancerRuleCount="250")
    assert "keys without effect in ccm: maximumLoadBalancerRuleCount" in caplog.text
    cloud.close()
    assert NSG


def test_a_refused_edit_does_not_fail_the_others_batched_with_it(world: AzureWorld, cloud: Any) -> None:
    from providers.azure.desired import desired
    from providers.azure.plan import _lb_edit
    from providers.azure.settings import settings_from_request

    lb = cloud.load_balancer()
    internal = {ann.LOAD_BALANCER_INTERNAL.key: "true"}
    good = request(world, internal, name="good", uid="00000001-0000-4000-8000-000000000000")
    bad = request(world, internal, name="bad", uid="00000002-0000-4000-8000-000000000000",
                  requested_ip="10.99.0.1")  # outside the subnet: ARM refuses it
    edits = []
    for req in (good, bad):
        want = desired(req, settings_from_request(req), cloud.config)
        edits.append(_lb_edit(lb.context(req), True, want, None, None))
    writer, key = lb.writer, f"load_balancers/{RG}/{CLUSTER}-internal".lower()
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        try:
            results[i] = writer.edit("load_balancers", RG, f"{CLUSTER}-internal", edits[i])
        except Exception as exc:
            results[i] = exc

    with writer._locks.hold(key):  # both edits queue up behind a commit in flight
        threads = [threading.Thread(target=submit, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        from tests.util import wait_for
        wait_for(lambda: len(writer._pending.get(key, [])) == 2, message="both edits queued")
    for t in threads:
        t.join(30)
    assert isinstance(results[1], Exception) and "PrivateIPAddressNotInSubnet" in str(results[1])
    assert not isinstance(results[0], Exception)
    assert world.children("frontendIPConfigurations", internal=True) == [service_base(good.uid)]


def test_delete_finds_the_parts_of_a_half_made_create(world: AzureWorld, cloud: Any, arm: Any) -> None:
    """A throttled create that made the public IP and NSG rule but lost its frontend leaks nothing."""
    lb = cloud.load_balancer()
    req = request(world)
    lb.ensure(req)
    other = request(world, name="other", uid="77777777-0000-4000-8000-000000000007")
    lb.ensure(other)
    net = cloud.clients.network
    body = net.load_balancers.get(RG, CLUSTER).as_dict()
    for key in ("frontendIPConfigurations", "loadBalancingRules", "probes"):  # only web's frontend goes
        body["properties"][key] = [c for c in body["properties"][key] if not c["name"].startswith(BASE)]
    net.load_balancers.begin_create_or_update(RG, CLUSTER, body).result()
    assert world.public_ip(PIP) is not None and f"{BASE}-TCP-Internet" in world.nsg_rules()
    lb.delete(req)
    assert world.public_ip(PIP) is None and f"{BASE}-TCP-Internet" not in world.nsg_rules()
    assert len(world.children("frontendIPConfigurations")) == 1  # the other Service is untouched


def test_a_load_balancer_made_again_under_a_racing_ensure_gets_its_nodes(world: AzureWorld, cloud: Any,
                                                                          arm: Any) -> None:
    """The last Service leaves (the load balancer and its pool's NICs go) while another Service's ensure has
    read the load balancer but not yet written it: that ensure makes it again and its NICs join the pool."""
    from tests.util import wait_for

    lb = cloud.load_balancer()
    leaving = request(world, name="leaving", uid="55555555-0000-4000-8000-000000000005")
    lb.ensure(leaving)
    coming = request(world, name="coming", uid="66666666-0000-4000-8000-000000000006")
    delay = arm.faults.slow(0.5, method="PUT", path="/publicIPAddresses/", times=1)
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            lb.ensure(coming)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=ensure)
    thread.start()
    wait_for(lambda: delay.hits == 1, message="the racing ensure has read everything and is writing")
    lb.delete(leaving)
    assert world.lb() is None
    thread.join(30)
    assert errors == [] and world.children("frontendIPConfigurations") == [service_base(coming.uid)]
    assert [world.nic_pools(vm) for vm in world.vms] == [[CLUSTER], [CLUSTER]]
