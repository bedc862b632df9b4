"""The policies ``ccm admission-policy`` prints are valid Kubernetes objects, and compile as CEL."""

from __future__ import annotations

import contextlib
import io

import kubernetes_validate
import pytest
import yaml

from ccm.cli import main
from ccm.docgen.files import policy_providers
from tests.admission import celenv

#: ValidatingAdmissionPolicy v1 is GA from 1.30; the chart supports 1.31 and later
VERSIONS = ("1.31", ".".join(kubernetes_validate.latest_version().split(".")[:2]))


def printed(*args: str) -> list[dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["admission-policy", *args]) == 0
    return [d for d in yaml.safe_load_all(out.getvalue()) if d]


@pytest.mark.parametrize("args", [[], *[["--provider", p] for p in policy_providers()],
                                  ["--provider", "aws", "--create-only", "deny", "--load-balancer-class", "x/y"]],
                         ids=lambda a: " ".join(a) or "all")
def test_printed_policies_validate_strictly_and_compile(args: list[str]) -> None:
    docs = printed(*args)
    policies = {d["metadata"]["name"] for d in docs if d["kind"] == "ValidatingAdmissionPolicy"}
    assert policies and {d["spec"]["policyName"] for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"} \
        == policies, "every policy has its binding"
    for doc in docs:
        for version in VERSIONS:
            kubernetes_validate.validate(doc, f"{version}.0", strict=True)
        if doc["kind"] == "ValidatingAdmissionPolicy":
            spec = doc["spec"]
            for item in (*spec["matchConditions"], *spec["variables"]):
                celenv.compiled(item["expression"])
            for check in spec["validations"]:
                celenv.compiled(check["expression"])
                celenv.compiled(check["messageExpression"])
    bindings = {d["spec"]["policyName"]: d["spec"]["validationActions"] for d in docs
                if d["kind"] == "ValidatingAdmissionPolicyBinding"}
    assert all(actions == (["Warn"] if name.endswith("-warnings") else ["Deny"]) for name, actions in bindings.items())


def test_an_invalid_value_is_denied_with_the_key_the_value_and_what_is_accepted() -> None:
    from ccm.annotations import aws

    policy = next(d for d in printed("--provider", "aws") if d["kind"] == "ValidatingAdmissionPolicy"
                  and d["metadata"]["name"] == "ccm-annotations-aws")
    svc = {"metadata": {"name": "s", "annotations": {aws.CONNECTION_IDLE_TIMEOUT.key: "9999"}},
           "spec": {"type": "LoadBalancer"}}
    assert celenv.evaluate(policy["spec"], svc) == [
        f'annotation {aws.CONNECTION_IDLE_TIMEOUT.key}="9999" is invalid; accepted: int 1-4000 (seconds)']


def test_unknown_provider_is_a_usage_error() -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["admission-policy", "--provider", "nosuchcloud"]) == 2
