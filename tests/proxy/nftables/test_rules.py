"""The nftables data plane's pure parts: plan, rules, transactions, and the proxier's sync
logic against a recording runner (no root, no kernel)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ccm.proxy.nftables import conntrack as ct
from ccm.proxy.nftables.plan import Dest, nodeport_ips, plan_service
from ccm.proxy.nftables.proxier import NftProxier
from ccm.proxy.nftables.rules import (
    FIREWALL_IPS,
    FIREWALL_NODEPORTS,
    NO_ENDPOINT_NODEPORTS,
    NO_ENDPOINT_SERVICES,
    SERVICE_IPS,
    SERVICE_NODEPORTS,
    chain_name,
    endpoint_name,
    rotation,
    service_objects,
)
from ccm.proxy.nftables.runner import NftError
from ccm.proxy.nftables.transaction import KernelTable, TableWriter, Transaction
from tests.proxy import objects as o

NODE = "n1"


def svc(name: str = "web", **kw: Any) -> dict[str, Any]:
    ports = kw.pop("ports", [o.port(30080, name="http")])
    ip_mode = kw.pop("ip_mode", None)
    families = kw.pop("families", None)
    obj = o.service(name, ports, **kw)
    if ip_mode and "status" in obj:
        for ing in obj["status"]["loadBalancer"]["ingress"]:
            ing["ipMode"] = ip_mode
    if families:
        obj["spec"]["ipFamilies"] = families
    return obj


def eps(*endpoints: dict[str, Any], name: str = "web", port: int = 8080, proto: str = "TCP",
        address_type: str = "IPv4") -> list[dict[str, Any]]:
    s = o.endpoint_slice(name, list(endpoints), [("http", port, proto)])
    s["addressType"] = address_type
    return [s]


TWO = eps(o.endpoint("10.1.0.10", NODE), o.endpoint("10.2.0.10", "n2"))


# -- plan --------------------------------------------------------------------------------------

def test_plan_cluster_and_local_endpoints() -> None:
    rules = plan_service(svc(etp="Local", type="LoadBalancer", hc_port=32000), TWO, NODE, "ip")
    (port,) = rules.ports
    assert port.cluster == (Dest("10.1.0.10", 8080), Dest("10.2.0.10", 8080))
    assert port.local == (Dest("10.1.0.10", 8080),)
    assert port.name == "default/web/tcp/http" and port.node_port == 30080 and port.protocol == "tcp"
    assert plan_service(svc(), TWO, NODE, "ip").ports[0].local is None


def test_plan_terminating_fallback_is_per_policy() -> None:
    slices = eps(o.endpoint("10.1.0.10", NODE, ready=False, serving=True, terminating=True),
                 o.endpoint("10.2.0.10", "n2"))
    (port,) = plan_service(svc(etp="Local", type="LoadBalancer"), slices, NODE, "ip").ports
    assert port.cluster == (Dest("10.2.0.10", 8080),)  # a ready one exists: no fallback
    assert port.local == (Dest("10.1.0.10", 8080),)  # no local ready one: serving+terminating


def test_plan_vips_only_for_ip_mode_vip_and_family() -> None:
    lb = svc(type="LoadBalancer", ingress=["10.0.100.1", "fd00::1"])
    assert plan_service(lb, TWO, NODE, "ip").ports[0].vips == ("10.0.100.1",)
    proxied = svc(type="LoadBalancer", ingress=["10.0.100.1"], ip_mode="Proxy")
    assert plan_service(proxied, TWO, NODE, "ip").ports[0].vips == ()
    assert plan_service(svc(ingress=["10.0.100.1"]), TWO, NODE, "ip").ports[0].vips == ()  # NodePort type


def test_plan_single_stack_service_only_in_its_family() -> None:
    assert plan_service(svc(), TWO, NODE, "ip6").ports == ()
    v6 = eps(o.endpoint("fd00:1::a", NODE), address_type="IPv6")
    (port,) = plan_service(svc(families=["IPv6"]), v6, NODE, "ip6").ports
    assert port.cluster == (Dest("fd00:1::a", 8080),)


def test_plan_source_ranges_never_open_a_family_the_user_restricted() -> None:
    lb = svc(type="LoadBalancer", ranges=["192.0.2.0/24"], ingress=["10.0.100.1"], families=["IPv4", "IPv6"])
    assert plan_service(lb, TWO, NODE, "ip").ports[0].source_ranges == ("10.0.100.1/32", "192.0.2.0/24")
    v6 = plan_service(lb, eps(o.endpoint("fd00::a", NODE), address_type="IPv6"), NODE, "ip6")
    assert v6.ports[0].source_ranges == ()  # IPv4-only ranges: no IPv6 client is allowed
    assert plan_service(svc(ranges=["192.0.2.0/24"]), TWO, NODE, "ip").ports[0].source_ranges is None


@pytest.mark.parametrize("bad", [
    pytest.param({"ranges": ["not-a-cidr"]}, id="bad-range"),
    pytest.param({"ports": [o.port(30080, name="x y")]}, id="bad-port-name"),
])
def test_plan_invalid_input_is_an_error(bad: dict[str, Any]) -> None:
    rules = plan_service(svc(type="LoadBalancer", **bad), TWO, NODE, "ip")
    assert rules.error and rules.ports == ()


def test_plan_sctp_is_programmed_and_cluster_ip_services_are_not() -> None:
    sctp = svc(ports=[o.port(30090, name="s", protocol="SCTP")])
    assert plan_service(sctp, eps(o.endpoint("10.1.0.10"), proto="SCTP"), NODE, "ip").ports[0].protocol == "sctp"
    assert plan_service(svc(type="ClusterIP"), TWO, NODE, "ip").ports == ()


def test_nodeport_ips_skip_loopback_and_all_means_every_address() -> None:
    assert nodeport_ips(["10.0.0.1", "127.0.0.1", "fd00::1"], "ip") == ("10.0.0.1",)
    assert nodeport_ips(["0.0.0.0"], "ip") is None


# -- rules -------------------------------------------------------------------------------------

def objs(service: dict[str, Any], slices: list[dict[str, Any]] = TWO) -> Any:
    return service_objects(plan_service(service, slices, NODE, "ip"), "ip")


def test_cluster_policy_masquerades_and_rotates_in_one_chain() -> None:
    out = objs(svc())
    ext = chain_name("external", "default/web/tcp/http")
    assert out.chains == {ext: (
        "jump mark-for-masquerade",
        "meta l4proto tcp numgen inc mod 2 0 dnat to 10.1.0.10:8080",
        "meta l4proto tcp dnat to 10.2.0.10:8080")}
    assert out.sets == {}  # no set of any kind: see rules.rotation
    assert out.elements == {SERVICE_NODEPORTS: {"tcp . 30080": f"goto {ext}"}}
    one = objs(svc(), eps(o.endpoint("10.1.0.10")))
    assert one.chains[ext][-1] == "meta l4proto tcp dnat to 10.1.0.10:8080"


def test_local_policy_keeps_the_client_address_and_drops_without_local_endpoints() -> None:
    name = "default/web/tcp/http"
    out = objs(svc(type="LoadBalancer", etp="Local", ingress=["10.0.100.1"]))
    assert out.chains[chain_name("external", name)] == (
        "fib saddr type local jump mark-for-masquerade",
        "fib saddr type local meta l4proto tcp numgen inc mod 2 0 dnat to 10.1.0.10:8080",
        "fib saddr type local meta l4proto tcp dnat to 10.2.0.10:8080",
        "ip saddr 10.1.0.10 jump mark-for-masquerade",  # hairpin: a local endpoint calling itself
        "meta l4proto tcp dnat to 10.1.0.10:8080")
    remote_only = objs(svc(type="LoadBalancer", etp="Local", ingress=["10.0.100.1"]),
                       eps(o.endpoint("10.2.0.10", "n2")))
    assert remote_only.elements[NO_ENDPOINT_NODEPORTS] == {"tcp . 30080": "drop"}
    assert remote_only.elements[NO_ENDPOINT_SERVICES] == {"10.0.100.1 . tcp . 80": "drop"}
    assert len(remote_only.chains[chain_name("external", name)]) == 2  # host traffic only


def test_rotation_visits_every_target_in_turn() -> None:
    """The cascade of per-rule counters, simulated: strict round robin for any count."""
    for count in (1, 2, 3, 5):
        prefixes = rotation(count)
        counters = [0] * count
        order = []
        for _ in range(3 * count):
            for i, prefix in enumerate(prefixes):
                if not prefix:
                    order.append(i)
                    break
                mod = int(prefix.split()[3])
                hit, counters[i] = counters[i] % mod == 0, counters[i] + 1
                if hit:
                    order.append(i)
                    break
        assert order == list(range(count)) * 3


def test_no_endpoints_reject_fast() -> None:
    out = objs(svc(type="LoadBalancer", ingress=["10.0.100.1"]), [])
    assert out.chains == {}
    assert out.elements == {NO_ENDPOINT_NODEPORTS: {"tcp . 30080": "goto reject-chain"},
                            NO_ENDPOINT_SERVICES: {"10.0.100.1 . tcp . 80": "goto reject-chain"}}


def test_affinity_sets_per_endpoint_checked_before_round_robin() -> None:
    out = objs(svc(affinity=60))
    name = "default/web/tcp/http"
    assert out.chains[chain_name("external", name)] == (
        "jump mark-for-masquerade", f"goto {chain_name('service', name)}")
    a = Dest("10.1.0.10", 8080)
    aff = endpoint_name("affinity", name, a)
    assert out.sets[aff] == 60
    rules = out.chains[chain_name("service", name)]
    assert rules[0] == f"ip saddr @{aff} goto {endpoint_name('endpoint', name, a)}"
    assert list(rules[-2:]) == [f"numgen inc mod 2 0 goto {endpoint_name('endpoint', name, a)}",
                          f"goto {endpoint_name('endpoint', name, Dest('10.2.0.10', 8080))}"]
    assert f"update @{aff} {{ ip saddr }}" in out.chains[endpoint_name("endpoint", name, a)]


def test_firewall_covers_vips_and_node_ports() -> None:
    out = objs(svc(type="LoadBalancer", ranges=["192.0.2.0/24"], ingress=["10.0.100.1"]))
    fw = chain_name("firewall", "default/web/tcp/http")
    assert out.chains[fw] == ("ip saddr 10.0.100.1/32 return", "ip saddr 192.0.2.0/24 return", "drop")
    assert out.elements[FIREWALL_IPS] == {"10.0.100.1 . tcp . 80": f"goto {fw}"}
    assert out.elements[FIREWALL_NODEPORTS] == {"tcp . 30080": f"goto {fw}"}
    assert out.elements[SERVICE_IPS] == {"10.0.100.1 . tcp . 80": f"goto {chain_name('external', 'default/web/tcp/http')}"}


def test_names_are_unique_per_port_and_never_carry_user_syntax() -> None:
    assert chain_name("service", "a/b/tcp/x") != chain_name("service", "a/b/udp/x")
    hostile = svc(name="web;flush-ruleset")  # not a DNS label: refused before any nft text
    assert plan_service(hostile, TWO, NODE, "ip").error


# -- transactions ------------------------------------------------------------------------------

def diff(old: Any, new: Any, existing: set[str] | None = None) -> tuple[list[str], set[str]]:
    tx = Transaction()
    gone = TableWriter(tx, "ip").service(old, new, existing if existing is not None else set(old.chains))
    return tx.render().splitlines(), gone


def test_unchanged_service_writes_nothing() -> None:
    assert diff(objs(svc()), objs(svc())) == ([], set())


def test_removed_endpoint_rewrites_only_what_refers_to_it() -> None:
    before, after = objs(svc(affinity=60)), objs(svc(affinity=60), eps(o.endpoint("10.1.0.10", NODE)))
    lines, gone = diff(before, after)
    name = "default/web/tcp/http"
    removed = endpoint_name("endpoint", name, Dest("10.2.0.10", 8080))
    aff = endpoint_name("affinity", name, Dest("10.2.0.10", 8080))
    main = chain_name("service", name)
    assert gone == {removed}
    assert lines == [f"flush chain ip ccm-proxy {main}", f"flush chain ip ccm-proxy {removed}",
                     f"delete set ip ccm-proxy {aff}",
                     *(f"add rule ip ccm-proxy {main} {rule}" for rule in after.chains[main])]
    plain_lines, plain_gone = diff(objs(svc()), objs(svc(), eps(o.endpoint("10.1.0.10", NODE))))
    ext = chain_name("external", name)
    assert plain_gone == set() and plain_lines == [
        f"flush chain ip ccm-proxy {ext}", f"add rule ip ccm-proxy {ext} jump mark-for-masquerade",
        f"add rule ip ccm-proxy {ext} meta l4proto tcp dnat to 10.1.0.10:8080"]


def test_affinity_timeout_change_recreates_sets_after_flushing_their_users() -> None:
    lines, _ = diff(objs(svc(affinity=60)), objs(svc(affinity=120)))
    first_delete = next(i for i, line in enumerate(lines) if line.startswith("delete set"))
    first_add = next(i for i, line in enumerate(lines) if line.startswith("add set"))
    flushes = [i for i, line in enumerate(lines) if line.startswith("flush chain")]
    assert len(flushes) == 3 and max(flushes) < first_delete < first_add  # 1 service + 2 endpoint chains
    assert all("timeout 120s" in line for line in lines if line.startswith("add set"))


def test_element_value_change_is_delete_then_add() -> None:
    lines, _ = diff(objs(svc(), []), objs(svc()))
    assert lines[0] == "delete element ip ccm-proxy no-endpoint-nodeports { tcp . 30080 }"
    assert lines[-1].startswith("add element ip ccm-proxy service-nodeports { tcp . 30080 : goto external-")


def test_full_sync_flushes_leftovers_and_recreates_changed_sets() -> None:
    desired = objs(svc(affinity=60))
    aff = next(iter(desired.sets))
    kernel = KernelTable(chains={"services", "endpoint-OLD-x/y/tcp/__1.2.3.4/80"},
                         sets={aff: 30, "affinity-OLD": 10, "nodeport-ips": None})
    tx = Transaction()
    stale = TableWriter(tx, "ip").full(desired, kernel, False, ["10.0.0.1"], recreate_base=False)
    script = tx.render()
    assert stale == {"endpoint-OLD-x/y/tcp/__1.2.3.4/80"}
    assert "flush chain ip ccm-proxy endpoint-OLD-x/y/tcp/__1.2.3.4/80" in script
    assert f"delete set ip ccm-proxy {aff}\n" in script and "delete set ip ccm-proxy affinity-OLD\n" in script
    assert "add element ip ccm-proxy nodeport-ips { 10.0.0.1 }" in script
    assert script.index("flush map ip ccm-proxy service-nodeports") < script.index(
        "add element ip ccm-proxy service-nodeports")


def test_kernel_table_from_json() -> None:
    listing = {"nftables": [{"metainfo": {}}, {"table": {"name": "ccm-proxy"}},
                            {"chain": {"name": "services"}}, {"set": {"name": "affinity-x", "timeout": 60}},
                            {"map": {"name": "service-ips"}}]}
    table = KernelTable.from_json(json.loads(json.dumps(listing)))
    assert table.chains == {"services"} and table.sets == {"affinity-x": 60} and table.maps == {"service-ips"}


# -- conntrack ---------------------------------------------------------------------------------

def test_stale_udp_flows_are_those_of_removed_endpoints_only() -> None:
    udp = svc(type="LoadBalancer", ingress=["10.0.100.1"], ports=[o.port(30053, name="http", protocol="UDP")])
    old = plan_service(udp, eps(o.endpoint("10.1.0.10"), o.endpoint("10.2.0.10"), proto="UDP"), NODE, "ip")
    new = plan_service(udp, eps(o.endpoint("10.1.0.10"), proto="UDP"), NODE, "ip")
    gone = Dest("10.2.0.10", 8080)
    assert ct.stale_flows(old.ports, new.ports, "ip") == [ct.Flush("ip", 30053, gone),
                                                          ct.Flush("ip", 80, gone, "10.0.100.1")]
    assert ct.Flush("ip", 30053, gone).argv() == ["-D", "-f", "ipv4", "-p", "udp", "--orig-port-dst", "30053",
                                                  "--reply-src", "10.2.0.10", "--reply-port-src", "8080"]
    tcp = plan_service(svc(), TWO, NODE, "ip")
    assert ct.stale_flows(tcp.ports, (), "ip") == []  # TCP flows end by themselves


# -- the proxier against a recording runner ------------------------------------------------------

class Recorder:
    def __init__(self) -> None:
        self.scripts: list[str] = []
        self.fail_next = 0
        self.clock: Clock | None = None
        self.cost = 0.0  # seconds each transaction takes on ``clock``

    def run(self, script: str) -> None:
        if not script:
            return
        if self.clock is not None:
            self.clock.now += self.cost
        if self.fail_next:
            self.fail_next -= 1
            raise NftError("nft -f -: /dev/stdin:1: Error: boom")
        self.scripts.append(script)

    def list_objects(self, family: str, table: str) -> dict[str, Any]:
        return {"nftables": []}


class NoConntrack:
    def __init__(self) -> None:
        self.flushes: list[ct.Flush] = []

    def flush(self, flushes: Any) -> int:
        self.flushes += list(flushes)
        return 0


class Store:
    def __init__(self, *services: dict[str, Any]) -> None:
        self.objs = {f"default/{s['metadata']['name']}": s for s in services}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.objs.get(key)

    def keys(self) -> list[str]:
        return list(self.objs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def proxier(clock: Clock | None = None, min_sync_period: float = 0.0) -> tuple[NftProxier, Recorder, NoConntrack]:
    runner, conntrack = Recorder(), NoConntrack()
    p = NftProxier(NODE, runner=runner, conntrack=conntrack, families=("ip",),  # type: ignore[arg-type]
                   clock=clock or Clock(), min_sync_period=min_sync_period)
    return p, runner, conntrack


def test_first_sync_is_full_then_partial_and_unchanged_is_silent() -> None:
    p, runner, _ = proxier()
    store, slices = Store(svc()), {"default/web": TWO}
    p.sync(store, lambda k: slices.get(k, []), ["default/web"], True, ["10.0.0.1"])
    assert p.last is not None and p.last.full and "add table ip ccm-proxy" in runner.scripts[0]
    p.sync(store, lambda k: slices.get(k, []), ["default/web"], False, ["10.0.0.1"])
    assert p.last.full is False and len(runner.scripts) == 1  # nothing changed: no transaction
    slices["default/web"] = eps(o.endpoint("10.1.0.10", NODE))
    p.sync(store, lambda k: slices.get(k, []), ["default/web"], False, ["10.0.0.1"])
    assert len(runner.scripts) == 2 and "add table" not in runner.scripts[1]


def test_failed_sync_makes_the_next_one_full() -> None:
    p, runner, _ = proxier()
    store, slices = Store(svc()), {"default/web": TWO}
    p.sync(store, lambda k: slices.get(k, []), [], True, ["10.0.0.1"])
    runner.fail_next = 1
    store.objs["default/other"] = svc("other", ports=[o.port(30081, name="http")])
    with pytest.raises(NftError):
        p.sync(store, lambda k: slices.get(k, []), ["default/other"], False, ["10.0.0.1"])
    p.sync(store, lambda k: slices.get(k, []), [], True, ["10.0.0.1"])
    assert p.last is not None and p.last.full and "add table" in runner.scripts[-1]


def test_full_sync_failure_falls_back_to_rebuilding_the_table() -> None:
    p, runner, _ = proxier()
    runner.fail_next = 1
    p.sync(Store(svc()), lambda k: TWO, [], True, ["10.0.0.1"])
    assert runner.scripts[0].startswith("add table ip ccm-proxy\ndelete table ip ccm-proxy\n")


def test_stale_chains_are_deleted_in_a_later_transaction() -> None:
    clock = Clock()
    p, runner, _ = proxier(clock)
    store, slices = Store(svc()), {"default/web": TWO}
    p.sync(store, lambda k: slices.get(k, []), [], True, ["10.0.0.1"])
    del store.objs["default/web"]
    again = p.sync(store, lambda k: slices.get(k, []), ["default/web"], False, ["10.0.0.1"])
    assert again == pytest.approx(1.05) and "delete chain" not in runner.scripts[-1]
    clock.now += 0.5
    assert p.sync(store, lambda k: slices.get(k, []), [], False, ["10.0.0.1"]) == pytest.approx(0.55)
    clock.now += 1.0
    assert p.sync(store, lambda k: slices.get(k, []), [], False, ["10.0.0.1"]) is None
    assert runner.scripts[-1].count("delete chain") == 1  # the external chain


def test_removed_udp_endpoint_is_flushed_from_conntrack_after_the_sync() -> None:
    p, _, conntrack = proxier()
    udp = svc(ports=[o.port(30053, name="http", protocol="UDP")])
    slices = {"default/web": eps(o.endpoint("10.1.0.10"), o.endpoint("10.2.0.10"), proto="UDP")}
    p.sync(Store(udp), lambda k: slices[k], [], True, ["10.0.0.1"])
    slices["default/web"] = eps(o.endpoint("10.1.0.10"), proto="UDP")
    p.sync(Store(udp), lambda k: slices[k], ["default/web"], False, ["10.0.0.1"])
    assert conntrack.flushes == [ct.Flush("ip", 30053, Dest("10.2.0.10", 8080))]


def test_frontend_claimed_twice_goes_to_the_first_service() -> None:
    p, runner, _ = proxier()
    a = svc("a", type="LoadBalancer", ingress=["10.0.100.1"], ports=[o.port(30001, name="http")])
    b = svc("b", type="LoadBalancer", ingress=["10.0.100.1"], ports=[o.port(30002, name="http")])
    p.sync(Store(a, b), lambda k: eps(o.endpoint("10.1.0.10"), name=k.split("/")[1]), [], True, ["10.0.0.1"])
    assert runner.scripts[0].count("10.0.100.1 . tcp . 80 :") == 1


def test_bursts_then_batches_changes_within_the_min_sync_period() -> None:
    clock = Clock()
    p, runner, _ = proxier(clock, min_sync_period=1.0)
    store = Store()

    def add(i: int) -> list[str]:
        store.objs[f"default/s{i}"] = svc(f"s{i}", ports=[o.port(30100 + i, name="http")])
        return [f"default/s{i}"]

    def slices(key: str) -> list[dict[str, Any]]:
        return eps(o.endpoint("10.1.0.10"), name=key.split("/")[1])

    assert p.sync(store, slices, add(0), True, ["10.0.0.1"]) is None  # full: token 1 of 2
    assert p.sync(store, slices, add(1), False, ["10.0.0.1"]) is None  # token 2: at once
    wait = p.sync(store, slices, add(2), False, ["10.0.0.1"])
    assert wait == pytest.approx(1.0) and len(runner.scripts) == 2  # deferred, nothing sent
    clock.now += 0.5
    assert p.sync(store, slices, add(3), False, ["10.0.0.1"]) == pytest.approx(0.5)
    clock.now += 0.5
    p.sync(store, slices, [], False, ["10.0.0.1"])  # the caller's timer: both deferred changes at once
    assert len(runner.scripts) == 3
    assert "tcp . 30102" in runner.scripts[-1] and "tcp . 30103" in runner.scripts[-1]


def test_slow_syncs_stretch_the_period_so_churn_cannot_take_the_cpu() -> None:
    clock = Clock()
    p, runner, _ = proxier(clock, min_sync_period=0.1)
    runner.clock, runner.cost = clock, 0.5  # a big table: each nft run takes 0.5 s
    store = Store()

    def add(i: int) -> list[str]:
        store.objs[f"default/s{i}"] = svc(f"s{i}", ports=[o.port(30100 + i, name="http")])
        return [f"default/s{i}"]

    p.sync(store, lambda k: [], add(0), True, ["10.0.0.1"])
    assert p.sync(store, lambda k: [], add(1), False, ["10.0.0.1"]) is None  # the burst
    assert p.sync(store, lambda k: [], add(2), False, ["10.0.0.1"]) is None  # 0.5 s later: a quarter token
    wait = p.sync(store, lambda k: [], add(3), False, ["10.0.0.1"])
    # refilling at one token per 4 x 0.5 s, not per 0.1 s (which would have allowed it)
    assert wait == pytest.approx(1.0)


def test_localhost_node_ports_are_refused_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    p, runner, _ = proxier()
    for _ in range(2):
        p.sync(Store(svc()), lambda k: TWO, [], True, ["127.0.0.1", "10.0.0.1"])
    assert "add element ip ccm-proxy nodeport-ips { 10.0.0.1 }" in runner.scripts[0]
    assert caplog.text.count("localhost nodePorts are not supported") == 1
