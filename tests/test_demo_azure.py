"""``ccm demo --provider azure`` as a user runs it: a subprocess, checked through the emulator's ARM API
with azure-mgmt-network (the printed endpoint and CA), an annotation change, then SIGINT."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes.client
import kubernetes.config
from azure.mgmt.network import NetworkManagementClient

from ccm.annotations import azure as ann
from providers.azure.clients import StaticToken
from tests.test_demo import CloudDemo
from tests.util import wait_for

READY = re.compile(r"Ctrl-C deletes the Services")
ENDPOINT = re.compile(r"ARM emulator endpoint: (https://127\.0\.0\.1:\d+)\s+\(subscription (\S+), resource group (\S+)\)")
CA = re.compile(r"CA certificate: (\S+)")
KUBECONFIG = re.compile(r"export KUBECONFIG=(\S+)")
SERVICE = re.compile(r"^\s+default/(hello-\w+): (\S+)\s*$")


def test_demo_azure_builds_both_frontends_and_removes_them_on_sigint() -> None:
    with CloudDemo("azure", 2) as demo:
        out = demo.out
        out.wait_for(READY, timeout=90)
        text = "".join(out.lines)
        endpoint = out.wait_for(ENDPOINT, 1)
        url, subscription, group = endpoint.group(1), endpoint.group(2), endpoint.group(3)
        ca = out.wait_for(CA, 1).group(1)
        kubeconfig = Path(out.wait_for(KUBECONFIG, 1).group(1))
        ips = {m.group(1): m.group(2) for line in text.splitlines() if (m := SERVICE.match(line))}
        assert set(ips) == {"hello-public", "hello-internal"}, text
        network = NetworkManagementClient(StaticToken(), subscription, base_url=url, connection_verify=ca,
                                          polling_interval=0)
        lbs = {lb.name: lb for lb in network.load_balancers.list(group)}
        assert sorted(lbs) == ["ccm-demo", "ccm-demo-internal"]
        assert lbs["ccm-demo-internal"].frontend_ip_configurations[0].private_ip_address == ips["hello-internal"]
        (pip,) = list(network.public_ip_addresses.list(group))
        assert pip.ip_address == ips["hello-public"] and pip.tags["k8s-azure-service"] == "default/hello-public"
        api = kubernetes.config.new_client_from_config(str(kubeconfig))
        try:
            kubernetes.client.CoreV1Api(api).patch_namespaced_service(
                "hello-public", "default", {"metadata": {"annotations": {ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key: "30"}}})
        finally:
            api.close()
        wait_for(lambda: network.load_balancers.get(group, "ccm-demo").load_balancing_rules[0].idle_timeout_in_minutes
                 == 30, timeout=20, message="the idle-timeout annotation to reach the rule")
        network.close()
        rest = demo.interrupt()
        assert "deleted Service default/hello-public; the controller removed its parts" in rest, rest
        assert "the emulator holds 0 load balancers and public IPs" in rest, rest
        assert not kubeconfig.parent.exists()
