"""``ccm demo --provider gcp``: the GCP provider against ccm's Compute Engine emulator, in this process.

The emulator (``emulators.gce``) serves the compute v1 REST API on an ephemeral loopback port, so
the provider talks to it over real HTTP exactly as it would talk to Google, and so can the user
(curl, google-cloud-compute). The demo seeds a project with one VM per Node across three zones,
registers the Nodes with their ``gce://`` providerIDs, runs the controller with the GCP provider
and applies the external (TCP and UDP on one IP) and internal examples. No traffic flows: the
emulator only answers the API. On SIGINT/SIGTERM the Services are deleted first, so the
controller removes their load balancers, then everything stops.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ccm.demo import Printer, serve, stop_cloud_demo
from ccm.demo.cluster import LocalCluster, load_example, node_object
from ccm.kube.resources import NODES
from emulators.gce import GceEmulator
from providers.port import CloudProvider, ProviderContext
from providers.registry import create_provider

PROJECT, REGION = "ccm-demo", "us-central1"
ZONES = ("us-central1-a", "us-central1-b", "us-central1-c")
NODE_TAG = "ccm-demo-node"
SERVICE_FILES = ("gcp-external-service.yaml", "gcp-internal-service.yaml")


def gcp_cloud(cluster_name: str, endpoint: str) -> CloudProvider:
    """The GCP provider pointed at the emulator (anonymous credentials: the endpoint is http://)."""
    return create_provider("gcp", ProviderContext(cluster_name, {
        "gcp-endpoint-url": endpoint, "gcp-project": PROJECT, "gcp-region": REGION}))


def _rules(emu: GceEmulator) -> list[dict[str, str]]:
    return [r for r in emu.resources() if r["kind"] == "compute#forwardingRule"]


def _instructions(p: Printer, emu: GceEmulator, kubeconfig: Path, ready: Sequence[tuple[str, str]]) -> str:
    base = f"{emu.url}/compute/v1/projects/{PROJECT}/regions/{REGION}"
    rules = "\n".join(f"    {r['name']:<36} {r['loadBalancingScheme']:<8} {r['IPProtocol']:<4} {r['IPAddress']:<15} "
                      f"ports {','.join(r.get('ports', [])) or 'all'}" for r in _rules(emu))
    one_liner = (f"{sys.executable} -c \"from google.cloud import compute_v1; "
                 "from google.auth.credentials import AnonymousCredentials; "
                 "c = compute_v1.ForwardingRulesClient(credentials=AnonymousCredentials(), transport='rest', "
                 f"client_options={{'api_endpoint': '{emu.url}'}}); "
                 f"print([(r.name, r.I_p_address) for r in c.list(project='{PROJECT}', region='{REGION}')])\"")
    return "\n".join([
        "", p.green(p.bold("ccm demo (GCP, in ccm's Compute Engine emulator) is running.")), "",
        *(f"  {service}: {p.bold(ip)}" for service, ip in ready),
        "", f"  GCE emulator endpoint: {emu.url}",
        "  The emulator serves the compute v1 REST API: the load balancers exist in it exactly as the",
        "  controller built them, but no traffic flows.",
        "", "  Forwarding rules:", rules,
        "", f"    export KUBECONFIG={kubeconfig}", "    kubectl get svc -o wide",
        "", "  Look at them through the API (no credentials needed):",
        f"    curl -s {base}/forwardingRules", f"    curl -s {base}/backendServices",
        f"    curl -s {emu.url}/compute/v1/projects/{PROJECT}/global/firewalls",
        f"    curl -s {emu.url}/_emulator/resources      # everything the emulator holds",
        "  or with google-cloud-compute (installed with ccm):", f"    {one_liner}",
        "", "  Try:",
        "    kubectl patch svc hello-gce -p '{\"spec\":{\"loadBalancerSourceRanges\":[\"203.0.113.0/24\"]}}'",
        f"    curl -s {emu.url}/compute/v1/projects/{PROJECT}/global/firewalls   # k8s-fw-... sourceRanges",
        "    kubectl delete svc hello-ilb",
        "", "  Ctrl-C deletes the Services (the controller removes their load balancers) and stops everything.", "",
    ])


def _left(emu: GceEmulator) -> str:
    left = emu.resources()
    return (f"the emulator holds {len(left)} load-balancing resources"
            + "".join(f"\n    left: {r['kind']} {r['name']}" for r in left))


def run_gcp(args: argparse.Namespace, p: Printer) -> int:
    emu = GceEmulator()
    workdir = Path(tempfile.mkdtemp(prefix="ccm-demo-gcp-"))
    cluster = LocalCluster(workdir, progress=p.step)
    services: list[tuple[str, str]] = []

    def start() -> None:
        emu.add_project(PROJECT, REGION, ZONES)
        emu.start()
        p.step(f"GCE emulator up at {emu.url} (project {PROJECT}, region {REGION})")
        cluster.start_apiserver()
        for n in range(args.nodes):
            zone, name = ZONES[n % len(ZONES)], f"{cluster.cluster_name}-node-{n + 1}"
            vm = emu.add_instance(PROJECT, zone, name, tags=[NODE_TAG])
            ip = vm["networkInterfaces"][0]["networkIP"]
            node = node_object(name, ip, provider_id=f"gce://{PROJECT}/{zone}/{name}",
                               ready_message="Compute Engine VM in the emulator (ccm demo --provider gcp)")
            node["metadata"]["labels"]["topology.kubernetes.io/zone"] = zone
            node["metadata"]["labels"]["topology.kubernetes.io/region"] = REGION
            cluster.raw.create(NODES.collection_path(), node)
            p.step(f"node {name} registered (gce://{PROJECT}/{zone}/{name}, {ip})")
        cluster.start_controller(gcp_cloud(cluster.cluster_name, emu.url), f"endpoint {emu.url}, project {PROJECT}")
        for file in SERVICE_FILES:
            meta = cluster.create_service(load_example(file))["metadata"]
            services.append((meta["namespace"], meta["name"]))
            p.step(f"created Service {meta['namespace']}/{meta['name']} from examples/{file}")
        p.step("waiting for the controller to build the load balancers in the emulator")
        ready = [(f"{ns}/{name}", cluster.wait_for_ingress_explained(ns, name, 60)) for ns, name in services]
        print(_instructions(p, emu, cluster.kubeconfig, ready), flush=True)

    def stop() -> None:
        stop_cloud_demo(p, cluster, services, left=lambda: _left(emu), stop_emulator=emu.stop, workdir=workdir)

    code = serve(p, start, stop)
    p.step(f"stopped: controller, API server and the GCE emulator are gone; removed {workdir}")
    return code
