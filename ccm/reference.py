"""``ccm annotations``: print, check or write the generated annotation reference.

It joins the registry (what each annotation means, ``ccm.annotations``) with what each provider's
adapter implements (``providers.registry``), so it lives above both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ccm.annotations import registry
from providers import registry as providers

DEFAULT_FILE = "docs/annotations.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 when --file differs from what the registry renders")
    mode.add_argument("--write", action="store_true", help="regenerate --file from the registry")
    parser.add_argument("--file", default=DEFAULT_FILE, help=f"the generated reference (default {DEFAULT_FILE})")


def render() -> str:
    """``docs/annotations.md`` as the registry and the providers' declarations make it."""
    return registry.render_markdown(providers.supports())


def check(path: Path, rendered: str) -> str | None:
    """None when ``path`` holds exactly ``rendered``, else a message saying how to fix it."""
    from ccm.docgen.files import difference

    problem = difference(path, rendered)
    return None if problem is None else f"{problem}\nrun `ccm annotations --write --file {path}`"


def run(args: argparse.Namespace) -> int:
    rendered = render()
    path = Path(args.file)
    if args.check:
        problem = check(path, rendered)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    sys.stdout.write(rendered)
    return 0
