"""``ccm emulator gce --port N``: a Compute Engine emulator on loopback for people and scripts."""

from __future__ import annotations

import argparse

from emulators.httpserver import serve_until_signalled


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8089, help="port to listen on (0: pick one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--project", default="ccm-project", help="project to create")
    p.add_argument("--region", default="us-central1", help="region of the project")
    p.add_argument("--zones", default=None, help="comma-separated zones (default: <region>-a,-b,-c)")
    p.add_argument("--instances", type=int, default=3, help="VMs to create, spread over the zones")
    p.add_argument("--node-tag", default="k8s-node", help="network tag of those VMs")
    p.add_argument("--validate", action="store_true",
                   help="check requests against the discovery document (needs google-api-python-client)")


def run(args: argparse.Namespace) -> int:
    from emulators.gce.emulator import GceEmulator

    zones = args.zones.split(",") if args.zones else [f"{args.region}-{z}" for z in "abc"]
    emu = GceEmulator(host=args.host, port=args.port, validate=args.validate)
    emu.add_project(args.project, args.region, zones)
    for i in range(args.instances):
        emu.add_instance(args.project, zones[i % len(zones)], f"node-{i}", tags=[args.node_tag])

    def announce() -> None:
        print(f"GCE emulator on {emu.url} (project {args.project}, region {args.region}, zones {','.join(zones)})")
        print(f"  instances: "
              f"{', '.join(f'gce://{args.project}/{zones[i % len(zones)]}/node-{i}' for i in range(args.instances))}")
        print(f"  ccm controller --cloud-provider gcp --gcp-endpoint-url {emu.url} --gcp-project {args.project} "
              f"--gcp-region {args.region}")
        print(f"  admin: GET {emu.url}/_emulator/resources, POST {emu.url}/_emulator/reset", flush=True)

    serve_until_signalled(emu, announce)
    return 0
