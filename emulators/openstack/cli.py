"""``ccm emulator openstack --port N``: Keystone + Octavia + Neutron + Nova on loopback for people."""

from __future__ import annotations

import argparse

from emulators.httpserver import serve_until_signalled


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8090, help="port to listen on (0: pick one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--region", default="RegionOne", help="region named in the service catalog")
    p.add_argument("--servers", type=int, default=3, help="Nova servers to create on the node subnet")
    p.add_argument("--node-cidr", default="10.0.0.0/24", help="CIDR of the node subnet")
    p.add_argument("--external-cidr", default="172.24.4.0/24", help="CIDR of the floating-IP subnet")
    p.add_argument("--settle-reads", type=int, default=1,
                   help="reads before an Octavia job completes (PENDING_* -> ACTIVE)")
    p.add_argument("--settle-seconds", type=float, default=0.0, help="minimum time an Octavia job stays pending")
    p.add_argument("--validate", action="store_true",
                   help="refuse attributes openstacksdk does not define (needs openstacksdk)")


def run(args: argparse.Namespace) -> int:
    from emulators.openstack.emulator import OpenStackEmulator

    emu = OpenStackEmulator(host=args.host, port=args.port, validate=args.validate, region=args.region,
                            node_cidr=args.node_cidr, external_cidr=args.external_cidr)
    emu.octavia_settings.settle_reads = args.settle_reads
    emu.octavia_settings.settle_seconds = args.settle_seconds
    servers = [emu.add_server(f"node-{i}") for i in range(args.servers)]
    emu.baseline()

    def announce() -> None:
        print(f"OpenStack emulator on {emu.url} (Keystone {emu.auth_url}, region {args.region})")
        for server in servers:
            addr = next(iter(server["addresses"].values()))[0]["addr"]
            print(f"  server {server['name']}: openstack:///{server['id']} ({addr})")
        print("  cloud.conf for ccm controller --cloud-provider openstack --cloud-config <file>:")
        for line in emu.cloud_conf().splitlines():
            print(f"    {line}")
        print(f"  admin: GET {emu.url}/_emulator/resources, GET {emu.url}/_emulator/seed, "
              f"POST {emu.url}/_emulator/reset", flush=True)

    serve_until_signalled(emu, announce)
    return 0
