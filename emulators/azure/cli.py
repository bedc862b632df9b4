"""``ccm emulator azure --port N``: run the ARM emulator for people (HTTPS on loopback).

It prints the endpoint, the CA file to trust and a ready ``azure.json``; with ``--seed`` it
creates a resource group, a virtual network, a security group and ``--nodes`` VMs, the small
world ``ccm controller --cloud-provider azure`` needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from emulators.httpserver import serve_until_signalled

from .seeding import VirtualMachine
from .server import AzureEmulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8443, help="port to listen on (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--cert-dir", default=None,
                        help="directory for the generated CA file (default: a temporary directory)")
    parser.add_argument("--retry-after", type=int, default=1,
                        help="Retry-After seconds on long-running operations (default 1)")
    parser.add_argument("--lro-seconds", type=float, default=0.0,
                        help="how long writes stay provisioningState=Updating (default 0)")
    parser.add_argument("--lenient", action="store_true",
                        help="accept unknown properties in request bodies (ARM drops them)")
    parser.add_argument("--seed", action="store_true",
                        help="create resource group 'kubernetes', a VNet, an NSG and --nodes VMs")
    parser.add_argument("--nodes", type=int, default=2, help="VMs to create with --seed (default 2)")
    parser.add_argument("--cluster-name", default="kubernetes", help="cluster name for the printed azure.json")


@dataclasses.dataclass(frozen=True)
class SeededWorld:
    #: the azure.json a cluster in this world would use (endpoint flags not included)
    config: dict[str, str]
    vms: tuple[VirtualMachine, ...]


def seed_world(arm: AzureEmulator, nodes: int, resource_group: str = "kubernetes") -> SeededWorld:
    """The resource group, network, NSG and VMs a cluster in this subscription would have."""
    arm.add_resource_group(resource_group)
    vnet = arm.add_virtual_network(resource_group)
    nsg = arm.state.resource_id(resource_group, "Microsoft.Network",
                                ("networkSecurityGroups", "kubernetes-nsg"))
    arm.state.seed(nsg, {"location": arm.state.default_location, "properties": {"securityRules": []}})
    vms = [arm.add_virtual_machine(resource_group, f"node-{i}", f"{vnet}/subnets/kubernetes-subnet")
           for i in range(nodes)]
    return SeededWorld(config={
        "cloud": "AzurePublicCloud",
        "tenantId": "00000000-0000-0000-0000-000000000000",
        "subscriptionId": arm.subscription,
        "resourceGroup": resource_group,
        "location": arm.state.default_location,
        "vnetName": "kubernetes-vnet",
        "subnetName": "kubernetes-subnet",
        "securityGroupName": "kubernetes-nsg",
        "loadBalancerSku": "standard",
        "vmType": "standard",
    }, vms=tuple(vms))


def run(args: argparse.Namespace) -> int:
    arm = AzureEmulator(host=args.host, port=args.port, strict=not args.lenient,
                        retry_after=args.retry_after, lro_seconds=args.lro_seconds, cert_dir=args.cert_dir)

    def announce() -> None:
        print(f"ARM emulator on {arm.url} (subscription {arm.subscription})")
        print(f"CA certificate: {arm.ca_file}")
        if args.seed:
            world = seed_world(arm, args.nodes)
            path = os.path.join(os.path.dirname(arm.ca_file), "azure.json")
            with open(path, "w") as f:
                json.dump(world.config, f, indent=2)
            print(f"azure.json: {path}")
            for vm in world.vms:
                print(f"  node {vm.name}: providerID {vm.provider_id} ip {vm.private_ip}")
            print(f"ccm controller --cloud-provider azure --cloud-config {path} --cluster-name {args.cluster_name} "
                  f"--azure-endpoint-url {arm.url} --azure-ca-file {arm.ca_file} --kubeconfig ...")
        sys.stdout.flush()

    serve_until_signalled(arm, announce)
    return 0
