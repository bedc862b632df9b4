"""``ccm demo --provider openstack``: the OpenStack provider against ccm's OpenStack emulator, in process.

The emulator (Keystone, Octavia, Neutron, Nova on one loopback port) seeds a project with a node
subnet routed to a floating-IP network and one Nova server per Node. The controller gets nothing
but a ``cloud.conf`` naming Keystone: it finds Octavia and Neutron in the token's service catalog,
as in a cloud. The demo applies a public and an internal Service and prints how to look at the
load balancers through openstacksdk. No traffic flows: the emulator only answers the API. On
SIGINT/SIGTERM the Services are deleted first, so the controller removes their load balancers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from ccm.demo import Printer, serve, stop_cloud_demo
from ccm.demo.cluster import LocalCluster, load_example, node_object
from ccm.kube.resources import NODES
from providers.cloudconfig import load_cloud_config
from providers.port import ProviderContext
from providers.registry import create_provider

SERVICE_FILES = ("openstack-public-service.yaml", "openstack-internal-service.yaml")


def _instructions(p: Printer, emu: Any, conf: Path, kubeconfig: Path, ready: list[tuple[str, str]]) -> str:
    lines = ["", p.green(p.bold("ccm demo (OpenStack, in ccm's emulator) is running.")), ""]
    lines += [f"  {service}: {p.bold(address)}" for service, address in ready]
    creds = ", ".join(f"{k}={v!r}" for k, v in emu.credentials().items())
    sdk = (f"{sys.executable} -c \"import openstack; c = openstack.connect(auth_url='{emu.auth_url}', {creds}); "
           "[print(lb.name, lb.vip_address, lb.provisioning_status) for lb in c.load_balancer.load_balancers()]\"")
    return "\n".join([
        *lines,
        "",
        f"  OpenStack endpoint (Keystone): {emu.auth_url}",
        f"  cloud.conf given to the controller: {conf}",
        "  The emulator answers the Keystone, Octavia, Neutron and Nova APIs exactly as the controller used",
        "  them, but no traffic flows.",
        "",
        f"    export KUBECONFIG={kubeconfig}",
        "    kubectl get svc -o wide",
        "",
        "  Look at the load balancers through openstacksdk (installed with ccm):",
        f"    {sdk}",
        f"  and at everything the emulator holds: curl {emu.url}/_emulator/resources",
        "",
        "  Try:",
        "    kubectl annotate svc hello-public loadbalancer.openstack.org/timeout-client-data=120000",
        "    kubectl delete svc hello-internal",
        "",
        "  Ctrl-C deletes the Services (the controller removes their load balancers) and stops everything.",
        "",
    ])


def _left(emu: Any) -> str:
    left = [r for r in emu.resources() if r["kind"] in ("loadbalancers", "floatingips")]
    return f"the emulator holds {len(left)} load balancers and floating IPs"


def run_openstack(args: argparse.Namespace, p: Printer) -> int:
    from emulators.openstack.emulator import OpenStackEmulator

    emu = OpenStackEmulator()
    workdir = Path(tempfile.mkdtemp(prefix="ccm-demo-openstack-"))
    cluster = LocalCluster(workdir, progress=p.step)
    services: list[tuple[str, str]] = []

    def start() -> None:
        emu.start()
        p.step(f"OpenStack emulator up at {emu.url} (Keystone {emu.auth_url})")
        servers = [emu.add_server(f"node-{n}") for n in range(1, args.nodes + 1)]
        conf = workdir / "cloud.conf"
        conf.write_text(emu.cloud_conf())
        cluster.start_apiserver()
        for server in servers:
            address = next(iter(server["addresses"].values()))[0]["addr"]
            node = node_object(server["name"], address, provider_id=f"openstack:///{server['id']}",
                               ready_message="Nova server in ccm's emulator (ccm demo --provider openstack)")
            cluster.raw.create(NODES.collection_path(), node)
            p.step(f"node {server['name']} registered (openstack:///{server['id']}, {address})")
        options = load_cloud_config("openstack", str(conf))  # as ccm controller --cloud-config reads it
        cloud = create_provider("openstack", ProviderContext(cluster.cluster_name, options))
        cluster.start_controller(cloud, f"cloud.conf {conf}")
        for file in SERVICE_FILES:
            meta = cluster.create_service(load_example(file))["metadata"]
            services.append((meta["namespace"], meta["name"]))
            p.step(f"created Service {meta['namespace']}/{meta['name']} from examples/{file}")
        p.step("waiting for the controller to build the load balancers")
        ready = [(f"{ns}/{name}", cluster.wait_for_ingress_explained(ns, name, 60)) for ns, name in services]
        print(_instructions(p, emu, conf, cluster.kubeconfig, ready), flush=True)

    def stop() -> None:
        stop_cloud_demo(p, cluster, services, left=lambda: _left(emu), stop_emulator=emu.stop, workdir=workdir)

    code = serve(p, start, stop)
    p.step(f"stopped: controller, API server and the OpenStack emulator are gone; removed {workdir}")
    return code
