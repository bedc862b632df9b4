#!/usr/bin/env python3
"""The reliability harness's figures (issue 8, "The harness"), one section per subject.

    python bench/reliability.py proxy            # the node proxy (bench/reliability_sections/proxy.py)
    python bench/reliability.py proxy --quick    # smaller counts, a minute or less
    python bench/reliability.py api              # the embedded API and the informer under faults
    python bench/reliability.py providers        # every cloud: crash points, throttling, bad input, orphans
    python bench/reliability.py                  # every section

Each section is a module of ``bench/reliability_sections`` with ``add_arguments(parser)`` and
``run(args) -> int``; it prints markdown that docs/reliability.md keeps. The properties the
figures measure are asserted, with small counts, by ``tests/reliability/``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: section name -> module; add yours here (providers, api, ...)
SECTIONS = {
    "proxy": "bench.reliability_sections.proxy",
    "api": "bench.reliability_sections.api",
    "providers": "bench.reliability_sections.providers",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="section")
    for name, module in SECTIONS.items():
        section = importlib.import_module(module)
        section.add_arguments(sub.add_parser(name, help=section.__doc__.splitlines()[0]))
    args = parser.parse_args()
    names = [args.section] if args.section else list(SECTIONS)
    status = 0
    for name in names:
        section = importlib.import_module(SECTIONS[name])
        if not args.section:  # every section with its defaults
            args = sub.choices[name].parse_args([])
        status |= section.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
