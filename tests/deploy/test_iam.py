"""deploy/iam/aws-policy.json grants exactly what the AWS adapter calls (plus what AWS implies).

The adapter's operations are found by scanning its source (tools/aws_iam.py): method calls on
its boto3 clients, paginators and planned ``Op`` data, mapped to IAM actions with botocore's
service models. A call the policy lacks fails here before it fails in someone's account.
"""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
import pytest

from tools import aws_iam

#: actions no adapter call names but AWS checks anyway, each with its reason
IMPLIED = {
    "ec2:CreateTags": "CreateSecurityGroup with TagSpecifications is also authorised as CreateTags",
    "iam:CreateServiceLinkedRole": "the first load balancer of an account creates the ELB service-linked role",
    "elasticloadbalancing:AddTags": "CreateLoadBalancer/CreateTargetGroup with Tags are also authorised as AddTags",
}


@pytest.fixture(scope="module")
def scanned() -> aws_iam.ScanResult:
    return aws_iam.scan()


def test_every_call_in_the_adapter_is_attributed_to_a_service(scanned: aws_iam.ScanResult) -> None:
    assert scanned.calls, "the scan found no AWS call at all"
    assert {c.service for c in scanned.calls} == {"ec2", "elb", "elbv2"}
    assert scanned.unresolved == {}, (
        "names that look like AWS operations but whose client is unknown (name the receiver after "
        f"its service, e.g. clients.ec2.x() or ec2_client.x()): {scanned.unresolved}")


def test_policy_grants_every_operation_the_adapter_calls(scanned: aws_iam.ScanResult) -> None:
    missing = scanned.actions() - aws_iam.policy_actions().keys()
    assert not missing, f"add to deploy/iam/aws-policy.json: {sorted(missing)}"


def test_policy_grants_nothing_the_adapter_does_not_need(scanned: aws_iam.ScanResult) -> None:
    granted = aws_iam.policy_actions()
    extra = granted.keys() - scanned.actions() - IMPLIED.keys()
    assert not extra, f"remove from deploy/iam/aws-policy.json (no call needs them): {sorted(extra)}"
    assert IMPLIED.keys() <= granted.keys()


def test_policy_is_well_formed_and_names_real_actions() -> None:
    doc = json.loads(aws_iam.POLICY.read_text())
    assert doc["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids))
    session = botocore.session.get_session()
    known: dict[str, set[str]] = {}
    for service in ("ec2", "elb", "elbv2", "iam"):
        model = session.get_service_model(service)
        known.setdefault(model.signing_name, set()).update(model.operation_names)
    for action in aws_iam.policy_actions():
        prefix, _, name = action.partition(":")
        assert "*" not in action, f"{action}: no wildcards"
        assert name in known.get(prefix, set()), f"{action} is not an AWS API action"
    by_action = {a: s for s in doc["Statement"] for a in s["Action"]}
    assert by_action["ec2:CreateTags"]["Condition"] == {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}}
    assert by_action["iam:CreateServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}


def test_the_scan_finds_each_call_shape(tmp_path: Path) -> None:
    """The scanner itself: the three call shapes are found, an unattributable one is reported."""
    pkg = tmp_path / "aws"
    pkg.mkdir()
    (pkg / "mod.py").write_text(
        "SERVICES = ('ec2', 'elb', 'elbv2')\n"
        "def f(clients, ec2_client, thing, self):\n"
        "    clients.ec2.describe_vpcs(Filters=[])\n"
        "    ec2_client.describe_route_tables()\n"
        "    self._elbv2.get_paginator('describe_rules').paginate()\n"
        "    ops = [Op('elb', 'describe_instance_health', {}), Op(service='ec2', action='create_tags')]\n"
        "    thing.describe_images()\n"
        "    thing.not_an_operation()\n")
    result = aws_iam.scan(pkg)
    assert {(c.service, c.operation) for c in result.calls} == {
        ("ec2", "describe_vpcs"), ("ec2", "describe_route_tables"), ("elbv2", "describe_rules"),
        ("elb", "describe_instance_health"), ("ec2", "create_tags")}
    assert set(result.unresolved) == {"describe_images"}
    assert result.actions() == {"ec2:DescribeVpcs", "ec2:DescribeRouteTables", "elasticloadbalancing:DescribeRules",
                                "elasticloadbalancing:DescribeInstanceHealth", "ec2:CreateTags"}
