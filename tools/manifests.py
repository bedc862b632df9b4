"""``python3 run.py manifests``: render the plain manifests in ``deploy/`` from the Helm chart.

``deploy/<name>.yaml`` is the chart's ``templates/<name>.yaml`` rendered for release ``ccm`` in
``kube-system`` with ``VALUES`` (the chart's defaults plus the node proxy), so ``kubectl apply``
users get exactly what ``helm install`` gives. ``--check`` reports drift instead of writing
(tests/deploy/test_chart.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tools import ROOT
from tools.helm import helm

CHART = ROOT / "deploy" / "helm" / "ccm"
DEPLOY = ROOT / "deploy"
RELEASE, NAMESPACE = "ccm", "kube-system"
#: --set values on top of the chart defaults
VALUES = ("nodeProxy.enabled=true",)
#: deploy/<name>.yaml <- templates/<name>.yaml
FILES = ("rbac", "controller", "node-proxy")
HEADER = ("# Generated from deploy/helm/ccm by `python3 run.py manifests` (release {release}, namespace "
          "{namespace}, chart defaults\n# plus {values}). Edit the chart, then regenerate; "
          "tests/deploy/test_chart.py keeps the two identical.\n")


def render() -> dict[str, str]:
    """File name -> the text ``deploy/`` should hold."""
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for value in VALUES:
        args += ["--set", value]
    header = HEADER.format(release=RELEASE, namespace=NAMESPACE, values=", ".join(VALUES))
    out: dict[str, str] = {}
    for name in FILES:
        body = helm(*args, "--show-only", f"templates/{name}.yaml").stdout
        out[f"{name}.yaml"] = header + body.lstrip("-\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run.py manifests", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--check", action="store_true", help="exit 1 if deploy/ differs from the chart")
    args = p.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = DEPLOY / name
        if path.exists() and path.read_text() == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text)
    verb = "differ from the chart" if args.check else "rewritten"
    print(f"deploy/: {', '.join(stale)} {verb}" if stale else "deploy/: up to date with the chart")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
