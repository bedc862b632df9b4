"""deploy/iam/gcp-role.yaml grants exactly the Compute Engine permissions the GCP adapter needs.

The adapter's calls are found by scanning its source (tools/gcp_iam.py): method calls on its
google-cloud-compute clients and planned ``call(collection, verb)`` data, each mapped to its
permission, plus the ``*.use``-style permissions due on what its request bodies reference. A call
the role lacks fails here before it fails in someone's project.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tools import gcp_iam
from tools.iam_scan import compare

#: permissions granted that no adapter call derives, each with its reason (none today)
IMPLIED: dict[str, str] = {}
#: every permission verb the role may use (the method verbs and what referenced resources need)
KNOWN_VERBS = {*gcp_iam.VERBS.values(), "use", "useReadOnly", "useInternal", "createInternal", "deleteInternal",
               "updatePolicy"}


@pytest.fixture(scope="module")
def scanned() -> gcp_iam.ScanResult:
    return gcp_iam.scan()


def role() -> dict[str, object]:
    doc = yaml.safe_load(gcp_iam.ROLE.read_text())
    assert isinstance(doc, dict)
    return doc


def granted() -> list[str]:
    permissions = role()["includedPermissions"]
    assert isinstance(permissions, list)
    return [str(p) for p in permissions]


def test_every_call_in_the_adapter_is_attributed_and_mapped(scanned: gcp_iam.ScanResult) -> None:
    assert {m.resource for m in scanned.methods} >= {"forwardingRules", "regionBackendServices", "firewalls",
                                                     "instanceGroups", "regionOperations", "zoneOperations"}
    assert scanned.unresolved == {}, (
        "names that look like Compute Engine calls but whose client is unknown (call a client attribute "
        f"declared as compute_v1.<X>Client with project=, or plan call(collection, verb)): {scanned.unresolved}")
    assert scanned.unmapped() == [], f"add these REST methods' verbs to tools/gcp_iam.py VERBS: {scanned.unmapped()}"


def test_role_grants_every_permission_the_adapter_needs(scanned: gcp_iam.ScanResult) -> None:
    needed = scanned.permissions()
    missing, _ = compare(needed, granted(), IMPLIED)
    assert not missing, "add to deploy/iam/gcp-role.yaml: " + "; ".join(f"{p} ({needed[p]})" for p in missing)


def test_role_grants_nothing_the_adapter_does_not_need(scanned: gcp_iam.ScanResult) -> None:
    _, extra = compare(scanned.permissions(), granted(), IMPLIED)
    assert not extra, f"remove from deploy/iam/gcp-role.yaml (no call needs them): {extra}"
    assert IMPLIED.keys() <= set(granted())


def test_every_link_the_adapter_builds_is_accounted_for(scanned: gcp_iam.ScanResult) -> None:
    covered = {c.refers for c in gcp_iam.CONDITIONAL} | gcp_iam.LINKED_WITHOUT_PERMISSION.keys()
    unaccounted = {c: at for c, at in scanned.links.items() if c not in covered}
    assert not unaccounted, ("the adapter references these collections in requests; say in tools/gcp_iam.py "
                             f"CONDITIONAL which permission that needs (or why none): {unaccounted}")


def test_role_is_well_formed_and_names_real_permissions() -> None:
    doc = role()
    assert set(doc) == {"title", "description", "stage", "includedPermissions"}
    assert doc["stage"] in {"ALPHA", "BETA", "GA"}
    assert len(str(doc["title"])) <= 100 and len(str(doc["description"])) <= 300  # IAM's limits
    permissions = granted()
    assert permissions == sorted(set(permissions)), "keep includedPermissions sorted and unique"
    for permission in [*permissions, *(c.permission for c in gcp_iam.CONDITIONAL)]:
        m = re.fullmatch(r"compute\.(\w+)\.(\w+)", permission)
        assert m, f"{permission}: not compute.<resource>.<verb> (no wildcards)"
        assert m.group(1) in gcp_iam.resources(), f"{permission}: Compute Engine has no {m.group(1)}"
        assert m.group(2) in KNOWN_VERBS, f"{permission}: unknown verb {m.group(2)}"


SHAPES = '''
import dataclasses
from google.cloud import compute_v1


@dataclasses.dataclass
class Clients:
    forwarding_rules: compute_v1.ForwardingRulesClient


def make(build):
    return dict(firewalls=build(compute_v1.FirewallsClient), instance_groups=build(compute_v1.InstanceGroupsClient))


_SHAPES = {"forwardingRules": ("forwarding_rules", 1), "instanceGroups": ("instance_groups", 2)}


def reads(clients, observed, something):
    clients.forwarding_rules.list(request={"project": "p"})
    fw = clients.firewalls
    fw.get(project="p", firewall="f")
    observed.firewalls.get("f")
    something.aggregated_list(project="p")


def plan():
    return [call("forwardingRules", "insert", "lb", {"IPAddress": "192.0.2.1",
                                                     "backendService": links.regional("p", "r", "backendServices", "lb")}),
            call("forwardingRules", "frobnicate", "lb")]


def members(paths):
    return [call("instanceGroups", verb, "ig", {"instances": [{"instance": links.zonal("p", "z", "instances", p)}]})
            for verb in ("addInstances", "removeInstances") for p in paths]
'''


def test_the_scan_finds_each_call_shape(tmp_path: Path) -> None:
    """The scanner itself: client calls (annotated, built, aliased), planned calls with literal and
    computed verbs, the conditional permissions their bodies make due, and what it cannot attribute."""
    pkg = tmp_path / "gcp"
    pkg.mkdir()
    (pkg / "mod.py").write_text(SHAPES)
    result = gcp_iam.scan(pkg)
    assert {str(m) for m in result.methods} == {"forwardingRules.list", "firewalls.get", "forwardingRules.insert",
                                                "instanceGroups.addInstances", "instanceGroups.removeInstances"}
    assert set(result.unresolved) == {"aggregated_list", "forwardingRules.frobnicate"}
    assert set(result.permissions()) == {
        "compute.forwardingRules.list", "compute.firewalls.get", "compute.forwardingRules.create",
        "compute.instanceGroups.update", "compute.regionBackendServices.use", "compute.addresses.use",
        "compute.instances.use"}
    assert set(result.links) == {"backendServices", "instances"}


def test_a_new_call_in_the_adapter_fails_the_comparison(tmp_path: Path) -> None:
    """What the comparison is for: the adapter, copied, starts setting labels on forwarding rules."""
    copy = tmp_path / "gcp"
    shutil.copytree(gcp_iam.ADAPTER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "observe.py").open("a") as f:
        f.write("\n\ndef label(clients, name):\n"
                "    clients.forwarding_rules.set_labels(project=clients.project, region=clients.region,\n"
                "                                        resource=name, region_set_labels_request_resource={})\n")
    missing, extra = compare(gcp_iam.scan(copy).permissions(), granted(), IMPLIED)
    assert (missing, extra) == (["compute.forwardingRules.setLabels"], [])
