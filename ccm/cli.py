"""The ``ccm`` command: one subcommand per component, each living in its own module.

Subcommand modules are imported lazily so ``ccm annotations`` does not pay for boto3
and ``ccm node-proxy`` never imports the controller. Each module provides
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "apiserver": ("ccm.apiserver.cli", "Run the embedded Kubernetes API server on loopback."),
    "controller": ("ccm.controllers.cli", "Run the service (load-balancer) controller."),
    "node-proxy": ("ccm.proxy.cli", "Run the node proxy (NodePort -> endpoints)."),
    "demo": ("ccm.demo", "Run everything on this machine and print a URL that answers."),
    "annotations": ("ccm.reference", "Print the annotation reference as Markdown."),
    "plan": ("ccm.plan.cli", "Print the cloud resources ccm would build for Services, or the next diff."),
    "admission-policy": ("ccm.admission.cli", "Print a ValidatingAdmissionPolicy for ccm's annotations."),
    "docs": ("ccm.docgen.cli", "Check or write the generated docs and the chart's admission policies."),
    "emulator": ("emulators.cli", "Run a cloud API emulator (gce, azure, openstack) on loopback."),
}


class OneLineErrors(argparse.ArgumentParser):
    """A usage error is one line (``ccm controller: error: ...``) and exit code 2, not the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    from ccm.kube.flags import add_version

    parser = OneLineErrors(prog="ccm", description=__doc__.splitlines()[0] if __doc__ else None)
    add_version(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrors)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
