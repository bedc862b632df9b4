"""``ccm plan`` offline: outcomes, exit statuses, no credentials and no call, nothing left behind."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccm.annotations import aws as aws_ann
from ccm.cli import main


def run(tmp_path: Path, objects: list[dict[str, Any]], *args: str) -> tuple[int, str, str]:
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["plan", "-f", str(path), *args])
    return status, out.getvalue(), err.getvalue()


def service(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "ns", "annotations": annotations or {}},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}], **spec}}


def outcomes(stdout: str) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in json.loads(stdout)["services"]}


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_offline_aws_needs_no_credentials_region_or_network(tmp_path: Path, no_aws_credentials: None) -> None:
    # an endpoint nobody listens on: any call would fail the plan
    status, out, err = run(tmp_path, [service("web", {aws_ann.TYPE.key: "nlb"})], "--provider", "aws", "-o", "json",
                           "--aws-endpoint-url", "http://127.0.0.1:9")
    assert status == 0, err
    ops = outcomes(out)["ns/web"]["operations"]
    assert [o["call"]["action"] for o in ops][:2] == ["create_load_balancer", "create_target_group"]
    tags = ops[0]["call"]["params"]["Tags"]
    assert {"Key": "kubernetes.io/service-name", "Value": "ns/web"} in tags, "ownership tags are shown"


def test_offline_local_starts_nothing_and_writes_no_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    status, out, _ = run(tmp_path, [service("web")], "--provider", "local")
    assert status == 0
    assert "create local/vip <first free VIP of 127.0.2.0/24>" in out
    assert not (tmp_path / "run").exists(), "an offline plan must leave no VIP state behind"


def test_outcomes_and_exit_status(tmp_path: Path) -> None:
    objects = [
        service("ok"),
        service("invalid", {aws_ann.CONNECTION_IDLE_TIMEOUT.key: "9999"}),
        service("unsupported", {aws_ann.ALPN_POLICY.key: "None"}),
        service("elsewhere", {aws_ann.TYPE.key: "external"}),
        service("other-class", loadBalancerClass="example.com/other"),
        {**service("clusterip"), "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}},
    ]
    status, out, _ = run(tmp_path, objects, "--provider", "aws", "-o", "json")
    assert status == 1
    got = outcomes(out)
    assert {k: v["outcome"] for k, v in got.items()} == {
        "ns/ok": "planned", "ns/invalid": "invalid", "ns/unsupported": "invalid",
        "ns/elsewhere": "implemented-elsewhere", "ns/other-class": "not-ours", "ns/clusterip": "no-load-balancer"}
    assert [(e["reason"], e["message"]) for e in got["ns/invalid"]["events"]] == [
        ("InvalidAnnotation", f'annotation {aws_ann.CONNECTION_IDLE_TIMEOUT.key}="9999" is invalid: '
                              "must be an integer between 1 and 4000")]
    assert got["ns/unsupported"]["events"][0]["reason"] == "UnsupportedAnnotation"
    # the class is ours with the controller's flag
    status, out, _ = run(tmp_path, objects[4:5], "--provider", "aws", "-o", "json",
                         "--load-balancer-class", "example.com/other")
    assert status == 0 and outcomes(out)["ns/other-class"]["outcome"] == "planned"


def test_adapter_refusal_is_the_controllers_event(tmp_path: Path) -> None:
    """A type-specific refusal the adapter raises (UserError) is printed as the Warning event."""
    svc = service("nlb", {aws_ann.TYPE.key: "nlb", aws_ann.EXTRA_SECURITY_GROUPS.key: "sg-0123"})
    status, out, _ = run(tmp_path, [svc], "--provider", "aws")
    assert status == 1
    assert "Warning  UnsupportedAnnotation  " in out and "Classic ELBs only" in out


def test_nodes_go_through_the_controllers_predicates(tmp_path: Path) -> None:
    excluded = {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "n1", "labels": {"node.kubernetes.io/exclude-from-external-load-balancers": "true"}},
        "spec": {"providerID": "aws:///us-east-1a/i-0a"}}
    status, out, _ = run(tmp_path, [service("web"), excluded], "--provider", "aws", "-o", "json")
    assert status == 0
    plan = outcomes(out)["ns/web"]
    assert ("UnAvailableLoadBalancer", "There are no available nodes for LoadBalancer") in [
        (e["reason"], e["message"]) for e in plan["events"]]
    assert "register_instances_with_load_balancer" not in [o["call"]["action"] for o in plan["operations"]]


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["plan", "--provider", "aws"], "give -f FILE", id="no-input"),
    pytest.param(["plan", "--provider", "aws", "--live", "-f", "x.yaml"], "--live needs the cluster's nodes",
                 id="live-without-nodes"),
    pytest.param(["plan", "--provider", "nosuchcloud", "-f", "examples/hello-service.yaml"],
                 "unknown cloud provider", id="unknown-provider"),
    pytest.param(["plan", "--provider", "aws", "-f", "/nonexistent.yaml"], "/nonexistent.yaml", id="missing-file"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 2
    assert message in err.getvalue()


def test_plan_takes_every_per_cloud_flag_of_the_controller() -> None:
    """A flag added to `ccm controller` for a cloud (endpoint, region, project) reaches `ccm plan --live`."""
    import argparse

    from ccm.controllers import cli as controller_cli
    from ccm.plan import cli as plan_cli

    controller, plan = argparse.ArgumentParser(), argparse.ArgumentParser()
    controller_cli.add_arguments(controller)
    plan_cli.add_arguments(plan)
    cloud_flags = {o for a in controller._actions for o in a.option_strings
                   if o.startswith(("--aws-", "--gcp-", "--azure-", "--openstack-", "--cloud-config", "--provider-option"))}
    assert {"--aws-endpoint-url", "--gcp-project", "--azure-endpoint-url", "--cloud-config"} <= cloud_flags
    assert cloud_flags <= {o for a in plan._actions for o in a.option_strings}


def test_plan_reads_cloud_config_with_the_providers_own_reader(tmp_path: Path, no_aws_credentials: None) -> None:
    """``--cloud-config`` goes through the same per-provider reader as ``ccm controller``'s."""
    conf = tmp_path / "cloud.conf"
    conf.write_text("[Global]\nZone = eu-west-1a\n")
    status, _, err = run(tmp_path, [service("web")], "--provider", "aws", "--cloud-config", str(conf))
    assert status == 0, err
    conf.write_text("[Global]\nZnoe = eu-west-1a\n")
    status, _, err = run(tmp_path, [service("web")], "--provider", "aws", "--cloud-config", str(conf))
    assert status == 2 and "unknown key 'znoe' in [Global]" in err and "Traceback" not in err, err


@pytest.mark.parametrize(("provider", "flags", "expected"), [
    pytest.param("gcp", [], ["projects/example-project/regions/us-central1/backendServices/"], id="gcp-from-nodes"),
    pytest.param("gcp", ["--gcp-project", "p2", "--gcp-region", "europe-west1",
                         "--gcp-endpoint-url", "http://127.0.0.1:9"],
                 ["projects/p2/regions/europe-west1/backendServices/"], id="gcp-flags"),
    pytest.param("azure", [], ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/example-rg/",
                               "<security-group>", "<location>"], id="azure-from-nodes"),
    pytest.param("azure", ["--azure-endpoint-url", "https://127.0.0.1:9", "--provider-option", "subscriptionId=s1",
                           "--provider-option", "resourceGroup=rg1", "--provider-option", "location=westeurope",
                           "--provider-option", "securityGroupName=nsg1"],
                 ["/subscriptions/s1/resourceGroups/rg1/", '"name": "nsg1"', '"location": "westeurope"'],
                 id="azure-config"),
    pytest.param("openstack", [], ['"vip_subnet_id": "<subnet>"', '"floating_network_id": "<floating-network>"'],
                 id="openstack-placeholders"),
    pytest.param("openstack", ["--provider-option", "auth-url=http://127.0.0.1:9/v3",
                               "--provider-option", "subnet-id=sub-1", "--provider-option", "floating-network-id=ext-1"],
                 ['"vip_subnet_id": "sub-1"', '"floating_network_id": "ext-1"'], id="openstack-config"),
])
def test_offline_clouds_need_no_credentials_project_or_endpoint(tmp_path: Path, provider: str, flags: list[str],
                                                                expected: list[str]) -> None:
    """Offline, what the flags and cloud config leave out is a placeholder or comes from the nodes' providerIDs;
    no client is built, so an endpoint nobody listens on and no credentials make no difference."""
    status, out, err = run(tmp_path, [service("web")], "--provider", provider, "-o", "json", *flags)
    assert status == 0, err
    ops = outcomes(out)["ns/web"]["operations"]
    assert ops, out
    text = json.dumps(ops)
    assert all(e in text for e in expected), (expected, text[:2000])


def test_offline_gcp_leaves_out_nodes_of_another_project(tmp_path: Path) -> None:
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
              "spec": {"providerID": f"gce://{project}/us-east1-b/{n}"}} for n, project in (("a", "p1"), ("b", "p2"))]
    status, out, err = run(tmp_path, [service("web"), *nodes], "--provider", "gcp", "-o", "json", "--gcp-project", "p1")
    assert status == 0, err
    text = json.dumps(outcomes(out)["ns/web"]["operations"])
    assert "projects/p1/zones/us-east1-b/instances/a" in text and "instances/b" not in text
    assert "projects/p1/regions/us-east1/" in text, "the region comes from the nodes' zones"
