"""Every flag deploy/ and the chart pass to ccm is one its CLI accepts: an unknown flag fails.

The chart is written against the upstream-compatible CLI (issue 16) and every flag it passes,
in every scenario, must parse with ``ccm.cli.build_parser``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccm.cli import build_parser
from tests.deploy.conftest import SCENARIOS, Render

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

#: the smallest argv each subcommand accepts, to try one flag at a time
MINIMAL = {"controller": ["--cloud-provider=fake"], "node-proxy": ["--node-name=node-1"]}


def _pods(docs: list[dict[str, Any]], where: str) -> list[tuple[str, list[str]]]:
    out = []
    for doc in docs:
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []):
            argv = [*c["command"][1:], *c.get("args", [])]
            out.append((f"{where}:{doc['kind']}/{c['name']}", [a.replace("$(NODE_NAME)", "node-1") for a in argv]))
    return out


def _deploy_files() -> list[tuple[str, list[str]]]:
    return [pod for path in sorted(DEPLOY.glob("*.yaml"))
            for pod in _pods([d for d in yaml.safe_load_all(path.read_text()) if d], f"deploy/{path.name}")]


def _flag(arg: str) -> str:
    return arg.partition("=")[0]


def _parse(argv: list[str]) -> str | None:
    """None when ccm's parser accepts ``argv``, else argparse's complaint."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser(argv).parse_args(argv)
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1]
    return None


def _all_pods(render: Render) -> list[tuple[str, list[str]]]:
    pods = _deploy_files()
    for name, values in SCENARIOS.items():
        pods += _pods(render(values), f"chart[{name}]")
    return pods


def test_deploy_files_run_ccm() -> None:
    pods = _deploy_files()
    assert {argv[0] for _, argv in pods} == {"controller", "node-proxy"}
    assert {where.split(":")[0] for where, _ in pods} == {"deploy/controller.yaml", "deploy/node-proxy.yaml"}


def test_every_flag_parses(render: Render) -> None:
    failures = []
    for where, argv in _all_pods(render):
        command, args = argv[0], argv[1:]
        for arg in args:
            assert arg.startswith("--"), f"{where}: {arg!r}: write flags as --name=value"
        problem = _parse([command, *args])
        if problem:
            failures.append(f"{where}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("argv", [
    ["controller", "--cloud-provider=fake", "--no-such-flag=1"],
    ["node-proxy", "--node-name=n", "--no-such-flag"],
])
def test_an_unknown_flag_is_caught(argv: list[str]) -> None:
    assert _parse(argv) is not None
