"""``ccm emulator <cloud>``: run one cloud API emulator on loopback until interrupted.

Each cloud's package provides ``add_arguments(parser)`` and ``run(args) -> int`` in its ``cli``
module; this module only dispatches, importing the chosen cloud lazily.
"""

from __future__ import annotations

import argparse
import importlib

#: cloud name -> (module with add_arguments/run, one-line help)
EMULATORS: dict[str, tuple[str, str]] = {
    "gce": ("emulators.gce.cli", "Compute Engine (compute v1 REST) emulator"),
    "azure": ("emulators.azure.cli", "Azure Resource Manager (Microsoft.Network) emulator over HTTPS"),
    "openstack": ("emulators.openstack.cli", "Keystone + Octavia + Neutron + Nova emulator"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cloud", metavar="CLOUD", required=True)
    for name, (module, help_text) in EMULATORS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError:
            p.set_defaults(_missing=module)


def run(args: argparse.Namespace) -> int:
    missing = getattr(args, "_missing", None)
    if missing:
        print(f"ccm emulator {args.cloud}: not available in this build ({missing} is missing)")
        return 2
    module = EMULATORS[args.cloud][0]
    return int(importlib.import_module(module).run(args) or 0)
