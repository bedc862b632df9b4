"""deploy/iam/azure-role.json grants exactly the Azure actions the Azure adapter needs.

The adapter's calls are found by scanning its source (tools/azure_rbac.py): azure-mgmt-network
operation groups and methods, each mapped to its action through the SDK's own request builder
(URL and HTTP method), plus ARM's linked-access ``join`` actions due on what the written bodies
reference and the VM/NIC/public IP reads sent by URL. A call the role lacks fails here before it
fails in someone's subscription.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tools import azure_rbac
from tools.iam_scan import compare, functions, sources

#: actions granted that no adapter call derives, each with its reason (none today)
IMPLIED: dict[str, str] = {}


@pytest.fixture(scope="module")
def scanned() -> azure_rbac.ScanResult:
    return azure_rbac.scan()


def role() -> dict[str, object]:
    doc = json.loads(azure_rbac.ROLE.read_text())
    assert isinstance(doc, dict)
    return doc


def granted() -> list[str]:
    actions = role()["Actions"]
    assert isinstance(actions, list)
    return [str(a) for a in actions]


def test_every_call_in_the_adapter_is_attributed(scanned: azure_rbac.ScanResult) -> None:
    assert {c.group for c in scanned.calls} == {"load_balancers", "public_ip_addresses", "network_security_groups",
                                                "network_interfaces"}
    assert scanned.url_reads, "instances.py reads VMs through send_request"
    assert scanned.unresolved == {}, (
        "calls the scan cannot attribute to an operation group (call clients.network.<group>.<method>, "
        f"or name the group in a call tools/azure_rbac.py knows): {scanned.unresolved}")


def test_role_grants_every_action_the_adapter_needs(scanned: azure_rbac.ScanResult) -> None:
    needed = scanned.actions()
    missing, _ = compare(needed, granted(), IMPLIED)
    assert not missing, "add to deploy/iam/azure-role.json: " + "; ".join(f"{a} ({needed[a]})" for a in missing)


def test_role_grants_nothing_the_adapter_does_not_need(scanned: azure_rbac.ScanResult) -> None:
    _, extra = compare(scanned.actions(), granted(), IMPLIED)
    assert not extra, f"remove from deploy/iam/azure-role.json (no call needs them): {extra}"
    assert IMPLIED.keys() <= set(granted())


def test_every_reference_the_adapter_builds_is_accounted_for(scanned: azure_rbac.ScanResult) -> None:
    covered = {link.refers for link in azure_rbac.LINKS} | azure_rbac.NOT_LINKED.keys()
    unaccounted = {t: at for t, at in scanned.references.items() if t not in covered}
    assert not unaccounted, (
        "the adapter builds ids of these resource types; say in tools/azure_rbac.py LINKS which join action "
        f"a body naming them needs (or in NOT_LINKED why none): {unaccounted}")


def test_the_wrapper_table_names_functions_of_the_adapter() -> None:
    defined = {f.name for _, f in functions(sources(azure_rbac.ADAPTER))}
    assert azure_rbac.WRAPPERS.keys() <= defined, "tools/azure_rbac.py WRAPPERS names functions the adapter lost"


def test_role_is_well_formed_and_names_real_actions() -> None:
    doc = role()
    assert set(doc) == {"Name", "IsCustom", "Description", "Actions", "NotActions", "DataActions", "NotDataActions",
                        "AssignableScopes"}
    assert doc["IsCustom"] is True
    assert doc["NotActions"] == doc["DataActions"] == doc["NotDataActions"] == []
    assert doc["AssignableScopes"] == ["/subscriptions/SUBSCRIPTION_ID/resourceGroups/RESOURCE_GROUP"]
    actions = granted()
    assert actions == sorted(set(actions)), "keep Actions sorted and unique"
    known = azure_rbac.sdk_types() | azure_rbac.URL_READS.keys()
    for action in [*actions, *(link.permission for link in azure_rbac.LINKS)]:
        assert "*" not in action, f"{action}: no wildcards"
        m = re.fullmatch(r"(Microsoft\.\w+(?:/\w+)+?)/(read|write|delete|\w+/action)", action)
        assert m, f"{action}: not <type>/<read|write|delete|.../action>"
        assert m.group(1) in known, f"{action}: {m.group(1)} is no resource type azure-mgmt-network knows"


SHAPES = '''
LBS = "load_balancers"


def network_id(subscription, group, rtype, name):
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/{rtype}/{name}"


def f(clients, writer, api, vm):
    clients.network.public_ip_addresses.list("rg")
    getattr(clients.network, "network_security_groups").get("rg", "nsg")
    writer._api("load_balancers").begin_delete("rg", "lb")
    ops = [edit("t", LBS, "rg", "lb", None), put("t", "public_ip_addresses", "rg", "ip", {})]
    dynamic = getattr(clients.network, api)
    dynamic.begin_update_tags("rg", "lb", {})
    body = {"properties": {"subnet": {"id": network_id("s", "rg", "virtualNetworks", "vnet") + "/subnets/a"}}}
    clients.network.send_request(HttpRequest("GET", vm))
    clients.network.send_request(HttpRequest("POST", vm + "/restart"))
    return ops, body, "route_tables"
'''


def test_the_scan_finds_each_call_shape(tmp_path: Path) -> None:
    """The scanner itself: direct, receiver-call and wrapper shapes (constants resolved), the links
    a written body makes due, URL reads, and what it cannot attribute."""
    pkg = tmp_path / "azure"
    pkg.mkdir()
    (pkg / "mod.py").write_text(SHAPES)
    result = azure_rbac.scan(pkg)
    assert {str(c) for c in result.calls} == {
        "public_ip_addresses.list", "network_security_groups.get", "load_balancers.begin_delete",
        "load_balancers.get", "load_balancers.begin_create_or_update", "public_ip_addresses.begin_create_or_update"}
    assert set(result.unresolved) == {"begin_update_tags", "route_tables (named, no call attributed)",
                                      "HttpRequest ['POST'] (only GETs are declared)"}
    assert set(result.actions()) == {
        "Microsoft.Network/publicIPAddresses/read", "Microsoft.Network/publicIPAddresses/write",
        "Microsoft.Network/networkSecurityGroups/read", "Microsoft.Network/loadBalancers/read",
        "Microsoft.Network/loadBalancers/write", "Microsoft.Network/loadBalancers/delete",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Compute/virtualMachines/read", "Microsoft.Network/networkInterfaces/read"}
    assert set(result.references) == {"virtualNetworks"}


def test_a_new_call_in_the_adapter_fails_the_comparison(tmp_path: Path) -> None:
    """What the comparison is for: the adapter, copied, starts writing route tables."""
    copy = tmp_path / "azure"
    shutil.copytree(azure_rbac.ADAPTER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "observe.py").open("a") as f:
        f.write("\n\ndef route(clients, group, name, body):\n"
                "    clients.network.route_tables.begin_create_or_update(group, name, body).result()\n")
    missing, extra = compare(azure_rbac.scan(copy).actions(), granted(), IMPLIED)
    assert (missing, extra) == (["Microsoft.Network/routeTables/write"], [])
