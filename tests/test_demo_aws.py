"""``ccm demo --provider aws`` as a user runs it: a subprocess, checked through moto's API, then SIGINT."""

from __future__ import annotations

import os
import re
import socket
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
import kubernetes.client
import kubernetes.config
import pytest

from tests.test_demo import CloudDemo
from tests.util import wait_for

READY = re.compile(r"Ctrl-C deletes the Services")
ENDPOINT = re.compile(r"moto endpoint: (http://127\.0\.0\.1:\d+)\s*$")
APISERVER = re.compile(r"API server up at (https://\S+)")
KUBECONFIG = re.compile(r"export KUBECONFIG=(\S+)")
LOAD_BALANCER = re.compile(r"^\s+(Classic ELB|NLB)\s+(\S+)/(\S+): (\S+)\s*$")
IDLE = "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout"
NODES = 2


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint,  # type: ignore[call-overload]
                        region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname and parts.port, url
    return parts.hostname, parts.port


class AwsDemo(CloudDemo):
    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__("aws", NODES, env)

    def wait_ready(self) -> None:
        self.out.wait_for(READY, timeout=60)
        text = "".join(self.out.lines)
        self.endpoint = self.out.wait_for(ENDPOINT, 1).group(1)
        self.apiserver = self.out.wait_for(APISERVER, 1).group(1)
        self.kubeconfig = Path(self.out.wait_for(KUBECONFIG, 1).group(1))
        self.hostnames = {m.group(1): (m.group(3), m.group(4))
                          for line in text.splitlines() if (m := LOAD_BALANCER.match(line))}


@pytest.fixture
def demo() -> Any:
    d = AwsDemo()
    try:
        d.wait_ready()
        yield d
    finally:
        d.kill()


def test_demo_aws_builds_both_load_balancers_in_moto_and_removes_them_on_sigint(demo: AwsDemo) -> None:
    text = "".join(demo.out.lines)
    assert "no traffic flows" in text
    assert f"aws --endpoint-url {demo.endpoint} elb describe-load-balancers" in text
    assert f"aws --endpoint-url {demo.endpoint} elbv2 describe-load-balancers" in text
    assert "not installed by ccm" in text
    assert set(demo.hostnames) == {"Classic ELB", "NLB"}, text

    # the printed endpoint is moto, and both load balancers are there with the printed hostnames
    clb_service, clb_host = demo.hostnames["Classic ELB"]
    nlb_service, nlb_host = demo.hostnames["NLB"]
    elb = _client(demo.endpoint, "elb")
    (clb,) = elb.describe_load_balancers()["LoadBalancerDescriptions"]
    assert clb["DNSName"] == clb_host
    assert len(clb["Instances"]) == NODES, "every demo node's instance is behind the Classic ELB"
    assert [(lst["Listener"]["Protocol"], lst["Listener"]["LoadBalancerPort"])
            for lst in clb["ListenerDescriptions"]] == [("TCP", 80)]
    elbv2 = _client(demo.endpoint, "elbv2")
    (nlb,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert nlb["DNSName"] == nlb_host and nlb["Type"] == "network"
    (group,) = elbv2.describe_target_groups(LoadBalancerArn=nlb["LoadBalancerArn"])["TargetGroups"]
    targets = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert len(targets) == NODES

    # "what to try": an annotation through Kubernetes changes the ELB in moto
    name = clb["LoadBalancerName"]
    assert f"--load-balancer-name {name}" in text
    api = kubernetes.config.new_client_from_config(str(demo.kubeconfig))
    try:
        kubernetes.client.CoreV1Api(api).patch_namespaced_service(
            clb_service, "default", {"metadata": {"annotations": {IDLE: "120"}}})
    finally:
        api.close()
    wait_for(lambda: elb.describe_load_balancer_attributes(LoadBalancerName=name)[
        "LoadBalancerAttributes"]["ConnectionSettings"]["IdleTimeout"] == 120, timeout=15,
        message="the idle-timeout annotation to reach the Classic ELB")

    rest = demo.interrupt()
    for service in (clb_service, nlb_service):
        assert f"deleted Service default/{service}" in rest, rest
    assert "moto holds 0 load balancers" in rest, rest
    assert "[demo] stopped" in rest
    assert not demo.kubeconfig.parent.exists(), "the temp dir with the kubeconfig is removed"
    for url in (demo.endpoint, demo.apiserver):
        with pytest.raises(OSError):  # moto and the API server no longer listen
            socket.create_connection(_address(url), timeout=2).close()


def test_demo_aws_without_moto_says_how_to_install_it(tmp_path: Path) -> None:
    # a package named moto that fails to import, first on the path: as if moto were not installed
    (tmp_path / "moto").mkdir()
    (tmp_path / "moto" / "__init__.py").write_text("raise ImportError('No module named moto')\n")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    d = AwsDemo(env)
    try:
        assert d.proc.wait(timeout=30) == 2
    finally:
        d.kill()
    text = d.out.rest(5)
    assert "moto[server]" in text and "pip install" in text and "run.py demo --provider aws" in text
    assert "Traceback" not in text


def test_a_service_without_hostname_fails_with_its_warning_events(tmp_path: Path) -> None:
    from ccm.demo.aws import wait_for_hostname
    from ccm.demo.cluster import LocalCluster, load_example
    from ccm.kube.resources import EVENTS

    with LocalCluster(tmp_path) as cluster:
        cluster.start_apiserver()
        svc = cluster.create_service(load_example("aws-clb-service.yaml"))
        meta = svc["metadata"]
        cluster.raw.create(EVENTS.collection_path("default"), {
            "metadata": {"name": "hello-clb.1", "namespace": "default"},
            "involvedObject": {"kind": "Service", "namespace": "default", "name": meta["name"], "uid": meta["uid"]},
            "type": "Warning", "reason": "SyncLoadBalancerFailed", "message": "AWS rejected it",
            "source": {"component": "service-controller"}})
        with pytest.raises(TimeoutError) as err:
            wait_for_hostname(cluster, "default", meta["name"], timeout=0.3)
    assert "default/hello-clb: no load-balancer ingress" in str(err.value)
    assert "Warning SyncLoadBalancerFailed: AWS rejected it" in str(err.value)
