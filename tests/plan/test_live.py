"""``ccm plan --live`` after real reconciles: the diff is empty; after an out-of-band change: the revert.

The controller runs against the embedded API server and a cloud emulator; ``ccm plan --live`` is
then run as a user would (``--kubeconfig`` and the cloud's flags) with ``-o json``.

Adding a cloud is one fixture: a ``LiveCloud`` built on that cloud's controller harness, its name
added to ``LIVE_CLOUDS``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccm.cli import main
from providers.adapter.naming import default_load_balancer_name
from tests.util import wait_for


@dataclasses.dataclass
class LiveCloud:
    provider: str
    #: the cloud's flags for ``ccm plan --live`` (endpoint, region, credentials)
    flags: list[str]
    cluster_name: str
    #: create a LoadBalancer Service through the official client (name, annotations)
    create: Callable[[str, dict[str, str]], Any]
    #: wait until the controller has reconciled it (status written)
    ready: Callable[[str], Any]
    #: the event messages on a Service
    events: Callable[[str], list[str]]
    #: change the Service's load balancer behind the controller's back
    drift: Callable[[str], None]
    #: whether a plan (operations in JSON form) is exactly the revert of ``drift``
    reverts: Callable[[str, list[dict[str, Any]]], bool]
    #: annotations the registry rejects for this cloud
    invalid: dict[str, str]
    #: an annotation change the adapter applies in place, and whether a plan is exactly that update
    edit: dict[str, str]
    applies_edit: Callable[[str, list[dict[str, Any]]], bool]


@pytest.fixture
def aws_live(api_client: Any, moto: Any, world: Any) -> Iterator[LiveCloud]:
    from ccm.annotations import aws as aws_ann
    from tests.providers.aws.cluster import running_cluster
    from tests.providers.aws.harness import CLUSTER, REGION

    def uid(name: str) -> str:
        return str(cluster.get(name).metadata.uid)

    def drift(name: str) -> None:
        moto.client("elb").deregister_instances_from_load_balancer(
            LoadBalancerName=default_load_balancer_name(uid(name)), Instances=[{"InstanceId": world.instances[0]}])

    def reverts(name: str, ops: list[dict[str, Any]]) -> bool:
        return [(o["kind"], o["call"]["action"], o["call"]["params"]) for o in ops] == [
            ("update", "register_instances_with_load_balancer",
             {"LoadBalancerName": default_load_balancer_name(uid(name)),
              "Instances": [{"InstanceId": world.instances[0]}]})]

    def applies_edit(name: str, ops: list[dict[str, Any]]) -> bool:
        return [(o["call"]["action"], o["call"]["params"]["LoadBalancerAttributes"]["ConnectionSettings"])
                for o in ops] == [("modify_load_balancer_attributes", {"IdleTimeout": 120})]

    with running_cluster(api_client, moto, world) as cluster:
        yield LiveCloud(
            "aws", ["--aws-endpoint-url", moto.url, "--aws-region", REGION,
                    "--provider-option", "aws-access-key-id=testing",
                    "--provider-option", "aws-secret-access-key=testing"],
            CLUSTER, cluster.service, cluster.wait_hostname, cluster.events, drift, reverts,
            {aws_ann.CONNECTION_IDLE_TIMEOUT.key: "9999"}, {aws_ann.CONNECTION_IDLE_TIMEOUT.key: "120"},
            applies_edit)


#: one fixture per cloud; the GCE and ARM emulator cases are added here when those adapters land
LIVE_CLOUDS = ["aws_live"]


@pytest.fixture(params=LIVE_CLOUDS)
def live(request: pytest.FixtureRequest) -> LiveCloud:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def plan(live: LiveCloud, kubeconfig: str, *extra: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["plan", "--live", "--provider", live.provider, "--kubeconfig", kubeconfig,
                       "--cluster-name", live.cluster_name, "-o", "json", *live.flags, *extra])
    doc = json.loads(out.getvalue())
    return status, {s["service"]: s for s in doc["services"]}


def test_live_plan_is_empty_after_reconcile_reverts_drift_and_repeats_refusals(
        live: LiveCloud, apiserver: Any, tmp_path: Path) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    live.create("web", {})
    live.create("bad", live.invalid)
    live.ready("web")
    wait_for(lambda: [e for e in live.events("bad") if "InvalidAnnotation" in e], 15,
             message=lambda: f"the InvalidAnnotation event; events: {live.events('bad')}")

    status, plans = plan(live, kubeconfig)
    assert status == 1, "a refused Service makes the plan fail"
    assert plans["default/web"]["outcome"] == "planned"
    assert plans["default/web"]["operations"] == [], "a reconciled Service must plan no change"
    # the refused Service: the very events the controller recorded, from the same code
    assert plans["default/bad"]["outcome"] == "invalid"
    printed = [f"{e['type']} {e['reason']} {e['message']}" for e in plans["default/bad"]["events"]]
    assert printed and set(printed) <= set(live.events("bad")), (printed, live.events("bad"))

    live.drift("web")
    status, plans = plan(live, kubeconfig, "--namespace", "default")
    ops = plans["default/web"]["operations"]
    assert live.reverts("web", ops), f"expected exactly the revert of the drift, got {json.dumps(ops, indent=1)}"

    # one Service from a file, as it would be applied: uid and node ports come from the cluster
    edited = tmp_path / "web.yaml"
    edited.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "web", "namespace": "default", "annotations": live.edit}, "spec": {
        "type": "LoadBalancer", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                  {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}]}}))
    # the drift above is still there: the plan of the file shows both the revert and the edit
    status, plans = plan(live, kubeconfig, "-f", str(edited))
    assert list(plans) == ["default/web"]
    ops = plans["default/web"]["operations"]
    assert live.applies_edit("web", [o for o in ops if not live.reverts("web", [o])]), json.dumps(ops, indent=1)
    assert any(live.reverts("web", [o]) for o in ops)

