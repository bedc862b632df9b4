"""``ccm demo --provider azure``: the Azure provider against ccm's ARM emulator, in this process.

The emulator (``emulators.azure``) serves Microsoft.Network over HTTPS on an ephemeral loopback
port with a throw-away CA; the provider talks to it through azure-mgmt-network exactly as it would
talk to Azure (bearer token, long-running operations, ETags). The demo seeds what a cluster's
subscription holds (a resource group, a VNet and subnet, the cluster NSG, one VM with its NIC per
Node), registers the VMs as Nodes, runs the controller with the Azure provider and applies the
public and internal examples. No traffic flows: the emulator only answers the API. On
SIGINT/SIGTERM the Services are deleted first, so the controller removes their parts, then
everything stops.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ccm.annotations import azure as azure_annotations
from ccm.demo import Printer, serve, stop_cloud_demo
from ccm.demo.cluster import LocalCluster, load_example, node_object
from ccm.kube.resources import NODES
from emulators.azure import AzureEmulator
from emulators.azure.cli import seed_world
from providers.port import CloudProvider, ProviderContext
from providers.registry import create_provider

log = logging.getLogger(__name__)

SERVICE_FILES = ("azure-public-service.yaml", "azure-internal-service.yaml")
RESOURCE_GROUP = "kubernetes"
IDLE_TIMEOUT_ANNOTATION = azure_annotations.LOAD_BALANCER_TCP_IDLE_TIMEOUT.key


def azure_cloud(cluster_name: str, arm: AzureEmulator, config: dict[str, str]) -> CloudProvider:
    """The Azure provider pointed at the emulator: a static token, its CA, the seeded azure.json."""
    options = dict(config)
    options.update({"azure-endpoint-url": arm.url, "azure-ca-file": arm.ca_file, "azure-poll-interval": "0.2"})
    return create_provider("azure", ProviderContext(cluster_name, options))


def _instructions(p: Printer, *, arm: AzureEmulator, kubeconfig: Path, cluster_name: str,
                  ready: Sequence[tuple[str, str]]) -> str:
    """``ready``: (the Service's namespace/name, its ingress IP)."""
    public = next((svc for svc, _ in ready if "public" in svc), "<service>")
    one_liner = (
        f"{sys.executable} -c \"import time; from azure.core.credentials import AccessToken; "
        "from azure.mgmt.network import NetworkManagementClient as C; "
        "t=type('T',(),{'get_token':lambda s,*a,**k: AccessToken('x',int(time.time())+600)})(); "
        f"n=C(t,'{arm.subscription}',base_url='{arm.url}',connection_verify='{arm.ca_file}'); "
        f"[print(lb.name, [f.name for f in lb.frontend_ip_configurations]) for lb in "
        f"n.load_balancers.list('{RESOURCE_GROUP}')]\"")
    lines = ["", p.green(p.bold("ccm demo (Azure, in ccm's ARM emulator) is running.")), ""]
    lines += [f"  {service}: {p.bold(ip)}" for service, ip in ready]
    return "\n".join([
        *lines,
        "",
        f"  ARM emulator endpoint: {arm.url}  (subscription {arm.subscription}, resource group {RESOURCE_GROUP})",
        f"  CA certificate: {arm.ca_file}",
        "  The load balancers exist in the emulated Azure API exactly as the controller built them, but no",
        "  traffic flows: the IPs come from documentation ranges.",
        "",
        f"    export KUBECONFIG={kubeconfig}",
        "    kubectl get svc -o wide",
        "",
        "  Look at them through azure-mgmt-network (installed with ccm; the emulator accepts any token):",
        f"    {one_liner}",
        "",
        "  Try:",
        f"    kubectl annotate svc -n {public.replace('/', ' ')} --overwrite {IDLE_TIMEOUT_ANNOTATION}=30",
        f"    kubectl delete svc -n {public.replace('/', ' ')}   # its frontend, rules, probes and public IP go",
        f"  The load balancers are {cluster_name} and {cluster_name}-internal.",
        "",
        "  Ctrl-C deletes the Services (the controller removes their parts) and stops everything.",
        "",
    ])


def _left(arm: AzureEmulator) -> str:
    left = [i for i in arm.state.inventory() if "/loadbalancers/" in i.lower() or "/publicipaddresses/" in i.lower()]
    return f"the emulator holds {len(left)} load balancers and public IPs" + "".join(f"\n    left: {i}" for i in left)


def run_azure(args: argparse.Namespace, p: Printer) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ccm-demo-azure-"))
    cluster = LocalCluster(workdir, progress=p.step)
    arm = AzureEmulator(retry_after=0, cert_dir=str(workdir))
    services: list[tuple[str, str]] = []

    def start() -> None:
        arm.start()
        p.step(f"ARM emulator (HTTPS) up at {arm.url}")
        world = seed_world(arm, args.nodes, RESOURCE_GROUP)
        config = world.config
        p.step(f"Azure world in {config['location']}: resource group {RESOURCE_GROUP}, VNet {config['vnetName']}, "
               f"subnet {config['subnetName']}, NSG {config['securityGroupName']}")
        cluster.start_apiserver()
        for vm in world.vms:
            obj = node_object(vm.name, vm.private_ip, provider_id=vm.provider_id,
                              ready_message="VM in ccm's ARM emulator (ccm demo --provider azure)")
            cluster.raw.create(NODES.collection_path(), obj)
            p.step(f"node {vm.name} registered ({vm.provider_id}, {vm.private_ip})")
        cluster.start_controller(azure_cloud(cluster.cluster_name, arm, config), f"endpoint {arm.url}")
        for file in SERVICE_FILES:
            meta = cluster.create_service(load_example(file))["metadata"]
            services.append((meta["namespace"], meta["name"]))
            p.step(f"created Service {meta['namespace']}/{meta['name']} from examples/{file}")
        p.step("waiting for the controller to build the load balancers in the emulator")
        ips = [cluster.wait_for_ingress_explained(ns, name, 60) for ns, name in services]
        ready = [(f"{ns}/{name}", ip) for (ns, name), ip in zip(services, ips, strict=True)]
        print(_instructions(p, arm=arm, kubeconfig=cluster.kubeconfig, cluster_name=cluster.cluster_name,
                            ready=ready), flush=True)

    def stop() -> None:
        stop_cloud_demo(p, cluster, services, left=lambda: _left(arm), stop_emulator=arm.stop, workdir=workdir,
                        gone="the controller removed its parts of the shared load balancer")

    code = serve(p, start, stop)
    p.step(f"stopped: controller, API server and the ARM emulator are gone; removed {workdir}")
    return code
