"""The deploy/ manifests parse, and every flag they pass is one the ccm CLI accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ccm.cli import build_parser

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _containers() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert isinstance(doc, dict) and doc.get("kind"), f"{path.name}: not a Kubernetes object"
            spec = doc.get("spec", {}).get("template", {}).get("spec", {})
            out.extend((f"{path.name}:{c['name']}", c) for c in spec.get("containers", []))
    return out


def test_manifests_define_the_expected_objects() -> None:
    kinds = {
        (doc["kind"], doc["metadata"]["name"])
        for path in DEPLOY.glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
    }
    assert ("Deployment", "cloud-controller-manager") in kinds
    assert ("DaemonSet", "ccm-node-proxy") in kinds
    assert ("ClusterRole", "ccm:service-controller") in kinds


@pytest.mark.parametrize("name,container", _containers(), ids=[n for n, _ in _containers()])
def test_container_args_parse(name: str, container: dict) -> None:
    argv = [*container["command"][1:], *container.get("args", [])]
    argv = [a.replace("$(NODE_NAME)", "node-1") for a in argv]
    parser = build_parser(argv)
    args = parser.parse_args(argv)  # SystemExit (a failure) on an unknown flag
    assert args.command == container["command"][1]
