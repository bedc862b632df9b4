"""``ccm docs``: check (``--check``) or regenerate (``--write``) every generated file.

Run from the repository root. The files: ``docs/annotations.md``, ``docs/metrics.md``,
``docs/operations.md`` and the chart's ``files/admission-policy-<provider>.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ccm.docgen.files import generated, orphans, stale


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    mode.add_argument("--write", action="store_true", help="regenerate every generated file")
    parser.add_argument("--root", default=".", help="the repository root (default: the current directory)")


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if args.write:
        for item in generated():
            path = root / item.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(item.render(), encoding="utf-8")
            print(f"wrote {item.path}")
        for orphan in orphans(root):
            (root / orphan).unlink()
            print(f"removed {orphan}")
        return 0
    problems = [p for p in (stale(root, item) for item in generated()) if p]
    problems += [f"{o} is generated for no provider; run `ccm docs --write`" for o in orphans(root)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run `ccm docs --write` and commit the result", file=sys.stderr)
        return 1
    print("generated files are up to date")
    return 0
