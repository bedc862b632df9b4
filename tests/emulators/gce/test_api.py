"""The emulator through google-cloud-compute: lifecycle, operations and the rules Compute Engine enforces."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.cloud import compute_v1

from tests.emulators.gce.conftest import ZONES
from tests.emulators.gce.world import DONE, P, R, backend_service, group, health_check, rule, wait

RUNNING = compute_v1.Operation.Status.RUNNING


def _reason(exc: gexc.GoogleAPICallError) -> str:
    return exc.errors[0]["reason"] if exc.errors else ""


def test_a_load_balancer_builds_and_every_reference_is_checked(emu, clients):
    c = clients
    ig = group(c, members=("n1",))
    bs = backend_service(c, groups=(ig,), description='{"k": "v"}', session_affinity="CLIENT_IP")
    op = rule(c, "fr-tcp", bs.self_link, I_p_protocol="TCP", ports=["80", "443"], network_tier="STANDARD")
    assert op.status == DONE and not op.error.errors
    fr = c.fr.get(project=P, region=R, forwarding_rule="fr-tcp")
    assert fr.I_p_address.startswith("35.200.") and list(fr.ports) == ["80", "443"]
    assert fr.network_tier == "STANDARD" and fr.backend_service == bs.self_link
    assert bs.session_affinity == "CLIENT_IP" and bs.fingerprint
    assert [u.reference for u in c.bs.get(project=P, region=R, backend_service="bs").used_by] == [fr.self_link]
    kinds = sorted(r["kind"] for r in emu.resources())
    assert kinds == ["compute#backendService", "compute#forwardingRule", "compute#healthCheck",
                     "compute#instanceGroup"]
    # dependency order is enforced on delete
    for client, kw in ((c.bs, {"backend_service": "bs"}), (c.hc, {"health_check": "hc"}),
                       (c.ig, {"zone": ZONES[0], "instance_group": "ig"})):
        with pytest.raises(gexc.BadRequest) as err:
            client.delete_unary(project=P, **({"region": R} if "zone" not in kw else {}), **kw)
        assert _reason(err.value) == "resourceInUseByAnotherResource"
    assert wait(c, c.fr.delete_unary(project=P, region=R, forwarding_rule="fr-tcp")).status == DONE
    wait(c, c.bs.delete_unary(project=P, region=R, backend_service="bs"))
    wait(c, c.hc.delete_unary(project=P, region=R, health_check="hc"))
    wait(c, c.ig.delete_unary(project=P, zone=ZONES[0], instance_group="ig"))
    assert emu.resources() == []
    with pytest.raises(gexc.NotFound):
        c.fr.get(project=P, region=R, forwarding_rule="fr-tcp")


def test_names_and_uniqueness(emu, clients):
    health_check(clients, "dup")
    with pytest.raises(gexc.Conflict) as err:
        health_check(clients, "dup")
    assert _reason(err.value) == "alreadyExists"
    with pytest.raises(gexc.BadRequest) as err:
        health_check(clients, "Upper_case")
    assert "Must be a match of regex" in err.value.message


def test_operations_run_then_finish_and_wait_has_a_deadline(emu, clients):
    c = clients
    emu.state.operations.settings.running_polls = 2
    op = c.ghc.insert_unary(project=P, health_check_resource=compute_v1.HealthCheck(
        name="g", type_="TCP", tcp_health_check=compute_v1.TCPHealthCheck(port=80)))
    assert op.status == RUNNING
    assert c.gops.get(project=P, operation=op.name).status == RUNNING
    assert c.gops.get(project=P, operation=op.name).status == RUNNING
    assert c.gops.get(project=P, operation=op.name).status == DONE
    emu.state.operations.settings.running_polls = 0
    emu.state.operations.settings.duration = 0.3
    emu.state.operations.settings.wait_deadline = 0.05
    op = c.ghc.delete_unary(project=P, health_check="g")
    assert c.gops.wait(project=P, operation=op.name).status == RUNNING  # deadline passed first
    emu.state.operations.settings.wait_deadline = 5
    assert c.gops.wait(project=P, operation=op.name).status == DONE
    assert c.gops.get(project=P, operation=op.name).end_time
    with pytest.raises(gexc.NotFound):
        c.gops.get(project=P, operation="operation-404")


def test_defaults_the_api_fills_in(emu, clients):
    health_check(clients, "d")
    hc = clients.hc.get(project=P, region=R, health_check="d")
    assert (hc.healthy_threshold, hc.unhealthy_threshold, hc.http_health_check.proxy_header) == (2, 2, "NONE")
    wait(clients, clients.fw.insert_unary(project=P, firewall_resource=compute_v1.Firewall(
        name="fw", allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["80"])], target_tags=["node"])))
    fw = clients.fw.get(project=P, firewall="fw")
    assert (fw.priority, fw.direction, list(fw.source_ranges)) == (1000, "INGRESS", ["0.0.0.0/0"])
    assert fw.network.endswith("/global/networks/default")


@pytest.mark.parametrize(("fields", "needle"), [
    ({"ports": ["1", "2", "3", "4", "5", "6"]}, "at most 5 ports"),
    ({"ports": ["80"], "I_p_protocol": "UDP"}, "protocol is TCP"),
    ({"ports": ["80"], "all_ports": True}, "Only one of"),
    ({}, "One of ports, portRange or allPorts"),
    ({"ports": ["80"], "allow_global_access": True}, "only available to internal"),
    ({"ports": ["80"], "I_p_address": "35.200.9.9"}, "not reserved"),
], ids=["six-ports", "protocol-mismatch", "ports-and-allports", "no-ports", "global-access-external",
        "unreserved-ip"])
def test_forwarding_rule_rules(emu, clients, fields, needle):
    bs = backend_service(clients)
    with pytest.raises(gexc.BadRequest) as err:
        rule(clients, "fr", bs.self_link, **fields)
    assert needle in err.value.message
    assert _reason(err.value) == "invalid"


def test_backend_service_rules(emu, clients):
    ghc = health_check(clients)
    wait(clients, clients.ghc.insert_unary(project=P, health_check_resource=compute_v1.HealthCheck(
        name="global", type_="TCP", tcp_health_check=compute_v1.TCPHealthCheck(port=80))))
    glob = clients.ghc.get(project=P, health_check="global").self_link
    with pytest.raises(gexc.BadRequest, match="regional health check"):
        backend_service(clients, "ext", hc=glob)
    assert backend_service(clients, "int", scheme="INTERNAL", hc=glob).health_checks == [glob]
    ig = group(clients, "g2")
    with pytest.raises(gexc.BadRequest, match="CONNECTION"):
        clients.bs.insert_unary(project=P, region=R, backend_service_resource=compute_v1.BackendService(
            name="util", load_balancing_scheme="EXTERNAL", health_checks=[ghc], backends=[compute_v1.Backend(group=ig)]))
    with pytest.raises(gexc.NotFound):
        backend_service(clients, "dangling", hc=f"projects/{P}/regions/{R}/healthChecks/missing")


def test_stale_fingerprints_are_refused(emu, clients):
    bs = backend_service(clients)
    body = compute_v1.BackendService(session_affinity="CLIENT_IP", fingerprint=bs.fingerprint)
    assert wait(clients, clients.bs.patch_unary(project=P, region=R, backend_service="bs",
                                                backend_service_resource=body)).status == DONE
    with pytest.raises(gexc.PreconditionFailed) as err:  # the same (now stale) fingerprint again
        clients.bs.patch_unary(project=P, region=R, backend_service="bs", backend_service_resource=body)
    assert _reason(err.value) == "conditionNotMet"
    fresh = clients.bs.get(project=P, region=R, backend_service="bs")
    assert fresh.session_affinity == "CLIENT_IP" and fresh.fingerprint != bs.fingerprint


def test_forwarding_rules_only_patch_global_access(emu, clients):
    bs = backend_service(clients, scheme="INTERNAL")
    rule(clients, "ilb", bs.self_link, load_balancing_scheme="INTERNAL", ports=["80"])
    fr = clients.fr.get(project=P, region=R, forwarding_rule="ilb")
    assert fr.subnetwork.endswith("/subnetworks/default") and fr.I_p_address.startswith("10.128.0.")
    patch = compute_v1.ForwardingRule(allow_global_access=True, fingerprint=fr.fingerprint)
    wait(clients, clients.fr.patch_unary(project=P, region=R, forwarding_rule="ilb", forwarding_rule_resource=patch))
    assert clients.fr.get(project=P, region=R, forwarding_rule="ilb").allow_global_access
    with pytest.raises(gexc.BadRequest, match="only be patched"):
        clients.fr.patch_unary(project=P, region=R, forwarding_rule="ilb",
                               forwarding_rule_resource=compute_v1.ForwardingRule(ports=["81"]))


def test_one_ip_for_tcp_and_udp_needs_a_reserved_address(emu, clients):
    c = clients
    bs = backend_service(c, protocol="UNSPECIFIED")
    rule(c, "tcp", bs.self_link, I_p_protocol="TCP", ports=["53"])
    ip = c.fr.get(project=P, region=R, forwarding_rule="tcp").I_p_address
    with pytest.raises(gexc.BadRequest, match="not reserved"):
        rule(c, "udp", bs.self_link, I_p_protocol="UDP", ports=["53"], I_p_address=ip)
    # promote the ephemeral IP to a reserved address, then both rules share it
    wait(c, c.ad.insert_unary(project=P, region=R, address_resource=compute_v1.Address(name="vip", address=ip)))
    assert rule(c, "udp", bs.self_link, I_p_protocol="UDP", ports=["53"], I_p_address=ip).status == DONE
    with pytest.raises(gexc.BadRequest, match="conflict"):
        rule(c, "tcp2", bs.self_link, I_p_protocol="TCP", ports=["53"], I_p_address=ip)
    addr = c.ad.get(project=P, region=R, address="vip")
    assert addr.status == "IN_USE" and len(addr.users) == 2
    with pytest.raises(gexc.BadRequest) as err:
        c.ad.delete_unary(project=P, region=R, address="vip")
    assert _reason(err.value) == "resourceInUseByAnotherResource"  # shared by two rules
    with pytest.raises(gexc.BadRequest, match="network tier"):
        rule(c, "std", bs.self_link, ports=["8080"], I_p_address=ip, network_tier="STANDARD")
    wait(c, c.fr.delete_unary(project=P, region=R, forwarding_rule="udp"))
    assert wait(c, c.ad.delete_unary(project=P, region=R, address="vip")).status == DONE  # released
    assert c.fr.get(project=P, region=R, forwarding_rule="tcp").I_p_address == ip  # kept, ephemeral now


def test_internal_addresses_and_shared_vips(emu, clients):
    c = clients
    bs = backend_service(c, scheme="INTERNAL", protocol="UNSPECIFIED")
    sub = f"projects/{P}/regions/{R}/subnetworks/other"
    wait(c, c.ad.insert_unary(project=P, region=R, address_resource=compute_v1.Address(
        name="ilb", address_type="INTERNAL", subnetwork=sub, purpose="SHARED_LOADBALANCER_VIP")))
    ip = c.ad.get(project=P, region=R, address="ilb").address
    assert ip.startswith("10.20.0.")
    for proto in ("TCP", "UDP"):
        op = rule(c, f"ilb-{proto.lower()}", bs.self_link, load_balancing_scheme="INTERNAL", I_p_protocol=proto,
                  ports=["53"], I_p_address=ip, subnetwork=sub)
        assert op.status == DONE
    with pytest.raises(gexc.BadRequest, match="outside the subnetwork"):
        c.ad.insert_unary(project=P, region=R, address_resource=compute_v1.Address(
            name="bad", address_type="INTERNAL", subnetwork=sub, address="10.128.0.50"))


def test_instance_group_membership(emu, clients):
    c = clients
    group(c, "ig", members=("n1",))
    req = compute_v1.InstanceGroupsAddInstancesRequest(instances=[
        compute_v1.InstanceReference(instance=f"projects/{P}/zones/{ZONES[0]}/instances/n1")])
    with pytest.raises(gexc.BadRequest, match="memberAlreadyExists"):
        c.ig.add_instances_unary(project=P, zone=ZONES[0], instance_group="ig",
                                 instance_groups_add_instances_request_resource=req)
    other_zone = compute_v1.InstanceGroupsAddInstancesRequest(instances=[
        compute_v1.InstanceReference(instance=f"projects/{P}/zones/{ZONES[1]}/instances/n2")])
    with pytest.raises(gexc.BadRequest, match="zone of the instance group"):
        c.ig.add_instances_unary(project=P, zone=ZONES[0], instance_group="ig",
                                 instance_groups_add_instances_request_resource=other_zone)
    for i in range(3):
        emu.add_instance(P, ZONES[0], f"x{i}")
    more = compute_v1.InstanceGroupsAddInstancesRequest(instances=[
        compute_v1.InstanceReference(instance=f"projects/{P}/zones/{ZONES[0]}/instances/x{i}") for i in range(3)])
    wait(c, c.ig.add_instances_unary(project=P, zone=ZONES[0], instance_group="ig",
                                     instance_groups_add_instances_request_resource=more))
    listed = c.ig.list_instances(request={"project": P, "zone": ZONES[0], "instance_group": "ig", "max_results": 2,
                                          "instance_groups_list_instances_request_resource": {}})
    assert [i.instance.rsplit("/", 1)[-1] for i in listed] == ["n1", "x0", "x1", "x2"]  # two pages
    emu.remove_instance(P, ZONES[0], "x1")  # a deleted VM leaves its groups
    assert c.ig.get(project=P, zone=ZONES[0], instance_group="ig").size == 3
    rm = compute_v1.InstanceGroupsRemoveInstancesRequest(instances=[
        compute_v1.InstanceReference(instance=f"projects/{P}/zones/{ZONES[0]}/instances/x1")])
    with pytest.raises(gexc.BadRequest, match="memberNotFound"):
        c.ig.remove_instances_unary(project=P, zone=ZONES[0], instance_group="ig",
                                    instance_groups_remove_instances_request_resource=rm)


def test_quota_ends_the_operation_in_error_and_applies_nothing(emu, clients):
    emu.state.config.quotas["HEALTH_CHECKS"] = 1
    health_check(clients, "one")
    body = compute_v1.HealthCheck(name="two", type_="TCP", tcp_health_check=compute_v1.TCPHealthCheck(port=1))
    op = wait(clients, clients.hc.insert_unary(project=P, region=R, health_check_resource=body))
    assert op.status == DONE and op.error.errors[0].code == "QUOTA_EXCEEDED"
    assert op.http_error_status_code == 403
    assert [r["name"] for r in emu.resources()] == ["one"]


def test_reads_instances_regions_and_filters(emu, clients):
    c = clients
    n1 = c.inst.get(project=P, zone=ZONES[0], instance="n1")
    assert list(n1.tags.items) == ["node"] and n1.network_interfaces[0].network_i_p.startswith("10.128.0.")
    assert [z.rsplit("/", 1)[-1] for z in c.regions.get(project=P, region=R).zones] == list(ZONES)
    for name in ("k8s-a", "k8s-b", "other"):
        health_check(c, name)
    names = [h.name for h in c.hc.list(request={"project": P, "region": R, "filter": "name eq k8s-.*"})]
    assert names == ["k8s-a", "k8s-b"]
    names = [h.name for h in c.hc.list(request={"project": P, "region": R, "filter": 'name != "other"'})]
    assert names == ["k8s-a", "k8s-b"]
