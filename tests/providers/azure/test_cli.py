"""``ccm controller --cloud-provider azure --cloud-config azure.json --azure-endpoint-url ... --azure-ca-file ...``
works with nothing else: a subprocess against the embedded API server and the ARM emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes.client

from emulators.azure import AzureEmulator
from emulators.azure.cli import seed_world
from tests.util import wait_for


def test_controller_command_with_azure_json_endpoint_and_ca(apiserver: Any, api_client: Any, tmp_path: Path) -> None:
    with AzureEmulator(retry_after=0, cert_dir=str(tmp_path)) as arm:
        world = seed_world(arm, 1)
        config = tmp_path / "azure.json"
        config.write_text(json.dumps(world.config))
        core = kubernetes.client.CoreV1Api(api_client)
        vm = world.vms[0]
        core.create_node({"metadata": {"name": vm.name}, "spec": {"providerID": vm.provider_id},  # type: ignore[arg-type]
                          "status": {"addresses": [{"type": "InternalIP", "address": vm.private_ip}],
                                     "conditions": [{"type": "Ready", "status": "True"}]}})
        kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccm.cli", "controller", "--cloud-provider", "azure", "--cloud-config", str(config),
             "--azure-endpoint-url", arm.url, "--azure-ca-file", arm.ca_file, "--kubeconfig", kubeconfig],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            core.create_namespaced_service("default", {  # type: ignore[arg-type]
                "metadata": {"name": "web"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                         "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})

            def ingress() -> str | None:
                lb = core.read_namespaced_service("web", "default").status.load_balancer
                return lb.ingress[0].ip if lb and lb.ingress else None

            ip = wait_for(ingress, timeout=40, message="the Service's public IP")
            pips = arm.state.list(arm.subscription, "kubernetes", "Microsoft.Network/publicIPAddresses")
            assert [p["properties"]["ipAddress"] for p in pips] == [ip]
            assert all(c.status < 400 for c in arm.calls.all() if c.method != "GET")
        finally:
            proc.terminate()
            out = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, out
        assert "Traceback" not in out
