"""The Helm chart: lint, strict schema validation for the oldest and newest supported Kubernetes,
the plain manifests in deploy/ identical to a render, and what an admin relies on (HA, security
context, least-privilege RBAC, ports that never collide, workload identity, the admission slot).
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.version import Version

from tests.deploy.conftest import (
    CHART,
    SCENARIOS,
    Render,
    RenderError,
    args_of,
    container,
    find,
    kinds,
    run_helm,
)
from tools import ROOT, image, manifests
from tools.helm import HelmUnavailable

CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
OLDEST = re.fullmatch(r">=\s*(\d+\.\d+)\.\d+(-0)?", CHART_META["kubeVersion"]).group(1)  # type: ignore[union-attr]
NEWEST = ".".join(kubernetes_validate.latest_version().split(".")[:2])
#: kinds from CRDs kubernetes-validate has no schema for; checked by hand below
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"


def _validate(doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, f"{version}.0", strict=True)


def test_supported_range_is_what_the_kubernetes_client_pin_allows() -> None:
    pin = re.search(r'"kubernetes>=(\d+),<(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert pin, "pyproject.toml pins the kubernetes client"
    assert f"1.{pin.group(1)}" == OLDEST
    assert Version(NEWEST) >= Version(f"1.{int(pin.group(2)) - 1}"), \
        f"kubernetes-validate {NEWEST} is older than the newest Kubernetes the client pin allows"


def test_chart_versions_follow_pyproject() -> None:
    assert CHART_META["version"] == CHART_META["appVersion"] == image.project_version()


def test_helm_lint_is_clean(helm_bin: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    for name, scenario in SCENARIOS.items():
        values.write_text(yaml.safe_dump(scenario))
        proc = run_helm(helm_bin, "lint", "--strict", str(CHART), "--values", str(values))
        assert proc.returncode == 0, f"{name}: {proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_rendered_object_validates_strictly_for_oldest_and_newest_kubernetes(
        render: Render, scenario: str) -> None:
    docs = render(SCENARIOS[scenario])
    assert docs
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            continue
        for version in (OLDEST, NEWEST):
            try:
                _validate(doc, version)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{scenario}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {exc}")


def test_the_validator_rejects_what_it_should(render: Render) -> None:
    """The strict check can fail: an unknown field and a wrong type are both rejected."""
    deployment = find(render(), "Deployment")
    _validate(deployment, NEWEST)
    unknown = copy.deepcopy(deployment)
    unknown["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    for bad in (unknown, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            _validate(bad, OLDEST)


def test_the_plain_manifests_are_the_chart_rendered() -> None:
    """deploy/*.yaml == `python3 run.py manifests` output (regenerate after editing the chart)."""
    try:
        rendered = manifests.render()
    except HelmUnavailable as exc:  # pragma: no cover - no npm
        pytest.skip(f"no helm: {exc}")
    for name, text in rendered.items():
        assert (manifests.DEPLOY / name).read_text() == text, \
            f"deploy/{name} differs from the chart: run `python3 run.py manifests`"
    on_disk = {p.name for p in manifests.DEPLOY.glob("*.yaml")}
    assert on_disk == set(rendered), "every deploy/*.yaml comes from the chart"


def test_controller_deployment_is_highly_available_and_locked_down(render: Render) -> None:
    docs = render()
    deployment = find(docs, "Deployment", "cloud-controller-manager")
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    c = container(docs, "Deployment")
    args = args_of(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert args["--leader-elect"] == "true" and args["--leader-elect-resource-lock"] == "leases"
    assert c["command"] == ["ccm", "controller"]
    assert c["image"] == f"localhost/ccm:{CHART_META['appVersion']}"
    # disruption budget and spreading select exactly these pods
    pdb = find(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert anti["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items()
    spread = pod["topologySpreadConstraints"][0]
    assert spread["labelSelector"]["matchLabels"].items() <= labels.items()
    assert pod["priorityClassName"] == "system-cluster-critical"
    tolerated = {t["key"] for t in pod["tolerations"]}
    assert {UNINITIALIZED, "node-role.kubernetes.io/control-plane"} <= tolerated
    # probes on the secure port's /healthz, over HTTPS
    port = int(args["--secure-port"])
    assert port == 10258
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in (c["livenessProbe"], c["readinessProbe"]):
        assert probe["httpGet"]["path"] == "/healthz" and probe["httpGet"]["scheme"] == "HTTPS"
        assert named[probe["httpGet"]["port"]] == port
    assert c["resources"]["requests"] and c["resources"]["limits"]
    # the security context the issue asks for, and the uid the image runs as
    uid = int(re.search(r"^USER (\d+):", (ROOT / "Containerfile").read_text(), re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == uid
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert "hostNetwork" not in pod


def test_rbac_is_least_privilege(render: Render) -> None:
    for scenario in SCENARIOS.values():
        docs = render(scenario)
        for role in (d for d in docs if d["kind"] in ("ClusterRole", "Role")):
            for rule in role["rules"]:
                assert "*" not in rule.get("verbs", []) and "*" not in rule.get("resources", []), role
                assert "secrets" not in rule.get("resources", []), f"{role['metadata']['name']} reads Secrets"
                if role["kind"] == "ClusterRole":
                    assert "leases" not in rule.get("resources", []), "Leases only through the namespaced Role"
    docs = render()
    lease_role = find(docs, "Role", "ccm:leader-election")
    assert lease_role["metadata"]["namespace"] == "kube-system"
    named = [r for r in lease_role["rules"] if r.get("resourceNames")]
    assert named and named[0]["resourceNames"] == ["cloud-controller-manager"]
    assert set(named[0]["verbs"]) == {"get", "update"}
    # the lease namespace moves the Role with it, and the flag agrees
    gcp = render(SCENARIOS["gcp-service-only"])
    assert find(gcp, "Role", "ccm:leader-election")["metadata"]["namespace"] == "ccm-leases"
    assert find(gcp, "RoleBinding", "ccm:leader-election")["metadata"]["namespace"] == "ccm-leases"
    assert args_of(gcp, "Deployment")["--leader-elect-resource-namespace"] == "ccm-leases"
    # no leader election: no lease rights at all
    azure = render(SCENARIOS["azure-no-serving"])
    assert not any(d["kind"] == "Role" for d in azure)


@pytest.mark.parametrize(("controllers", "service", "node", "orphans"), [
    (["*"], True, True, True),
    (["service"], True, False, False),
    (["service-lb-controller"], True, False, False),
    (["*", "-service"], False, True, True),
    (["-service", "service", "*"], False, True, True),  # the first entry naming it wins
    (["cloud-node-lifecycle"], False, True, False),
    (["*", "-cloud-node", "-cloud-node-lifecycle-controller"], True, False, True),
    (["orphan-gc"], False, False, True),
    (["*", "-orphan-gc-controller"], True, True, False),
])
def test_rbac_follows_the_controllers_flag(render: Render, controllers: list[str], service: bool,
                                           node: bool, orphans: bool) -> None:
    docs = render({"controllers": controllers})
    roles = {d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole"}
    assert ("ccm:service-controller" in roles) is service
    assert ("ccm:node-controller" in roles) is node
    assert ("ccm:orphan-gc" in roles) is orphans
    assert args_of(docs, "Deployment")["--controllers"] == ",".join(controllers)


def test_node_controller_rbac_lets_it_initialise_and_delete_nodes(render: Render) -> None:
    rules = find(render(), "ClusterRole", "ccm:node-controller")["rules"]
    nodes = next(r for r in rules if r["resources"] == ["nodes"])
    assert {"get", "list", "watch", "update", "patch", "delete"} == set(nodes["verbs"])
    assert any(r["resources"] == ["nodes/status"] and "patch" in r["verbs"] for r in rules)


def test_secure_serving_gets_auth_delegation_only_when_serving(render: Render) -> None:
    docs = render()
    delegator = find(docs, "ClusterRoleBinding", "ccm:auth-delegator")
    assert delegator["roleRef"]["name"] == "system:auth-delegator"
    reader = find(docs, "RoleBinding", "ccm:extension-apiserver-authentication-reader")
    assert reader["metadata"]["namespace"] == "kube-system"
    azure = render(SCENARIOS["azure-no-serving"])
    assert ("ClusterRoleBinding", "ccm:auth-delegator") not in kinds(azure)
    c = container(azure, "Deployment")
    assert args_of(azure, "Deployment")["--secure-port"] == "0"
    assert "livenessProbe" not in c and "ports" not in c


def test_node_proxy_is_optional_and_its_privileges_follow_the_mode(render: Render) -> None:
    assert not any(d["kind"] == "DaemonSet" for d in render())
    userspace = render({"nodeProxy": {"enabled": True}})
    pod = find(userspace, "DaemonSet")["spec"]["template"]["spec"]
    c = container(userspace, "DaemonSet")
    assert pod["hostNetwork"] is True  # it listens on node addresses
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert args_of(userspace, "DaemonSet")["--mode"] == "userspace"
    for mode in ("nftables", "auto"):
        docs = render({"nodeProxy": {"enabled": True, "mode": mode}})
        caps = container(docs, "DaemonSet")["securityContext"]["capabilities"]
        assert caps == {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
        assert find(docs, "DaemonSet")["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 0
    with pytest.raises(RenderError, match=r"nodeProxy\.mode must be"):
        render({"nodeProxy": {"enabled": True, "mode": "ipvs"}})


@pytest.mark.parametrize(("values", "port"), [
    ({}, 10266),
    ({"replacesKubeProxy": True}, 10256),
    ({"healthzPort": 10299}, 10299),
    ({"replacesKubeProxy": True, "healthzPort": 10257}, 10257),
])
def test_node_proxy_health_port_never_takes_kube_proxys_while_it_runs(render: Render, values: dict[str, Any],
                                                                      port: int) -> None:
    docs = render({"nodeProxy": {"enabled": True, **values}})
    c = container(docs, "DaemonSet")
    assert args_of(docs, "DaemonSet")["--healthz-bind-address"] == f"0.0.0.0:{port}"
    assert c["ports"] == [{"name": "healthz", "containerPort": port, "hostPort": port, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "healthz"}


def test_node_proxy_refuses_10256_beside_kube_proxy(render: Render) -> None:
    with pytest.raises(RenderError, match="10256 is kube-proxy's"):
        render({"nodeProxy": {"enabled": True, "healthzPort": 10256}})


@pytest.mark.parametrize(("scenario", "annotations", "pod_label"), [
    ("aws-irsa-nftables", {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ccm"}, False),
    ("gcp-service-only", {"iam.gke.io/gcp-service-account": "ccm@p1.iam.gserviceaccount.com"}, False),
    ("azure-no-serving", {"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001",
                          "azure.workload.identity/tenant-id": "t"}, True),
])
def test_workload_identity_annotates_the_service_account(render: Render, scenario: str,
                                                         annotations: dict[str, str], pod_label: bool) -> None:
    docs = render(SCENARIOS[scenario])
    sa = find(docs, "ServiceAccount", "cloud-controller-manager")
    assert sa["metadata"]["annotations"] == annotations
    labels = find(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert (labels.get("azure.workload.identity/use") == "true") is pod_label
    assert "annotations" not in find(render(), "ServiceAccount", "cloud-controller-manager")["metadata"]


def _mounts(docs: list[dict[str, Any]]) -> dict[str, str]:
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    return {m["mountPath"]: secrets[m["name"]] for m in pod["containers"][0]["volumeMounts"] if m["name"] in secrets}


def test_cloud_config_and_credentials_come_from_secrets(render: Render) -> None:
    aws = render(SCENARIOS["aws-irsa-nftables"])
    secret = find(aws, "Secret", "cloud-controller-manager-cloud-config")
    assert secret["stringData"] == {"cloud.conf": "[Global]\nKubernetesClusterTag = prod\n"}
    assert args_of(aws, "Deployment")["--cloud-config"] == "/etc/kubernetes/cloud-config/cloud.conf"
    assert _mounts(aws)["/etc/kubernetes/cloud-config"] == "cloud-controller-manager-cloud-config"
    assert _mounts(aws)["/etc/ccm/serving"] == "ccm-serving"
    assert args_of(aws, "Deployment")["--tls-cert-file"] == "/etc/ccm/serving/tls.crt"
    annotations = find(aws, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/cloud-config"])
    azure = render(SCENARIOS["azure-no-serving"])
    assert not any(d["kind"] == "Secret" for d in azure)  # an existing Secret is used, not copied
    assert _mounts(azure)["/etc/kubernetes/cloud-config"] == "azure-cloud-config"
    assert args_of(azure, "Deployment")["--cloud-config"] == "/etc/kubernetes/cloud-config/azure.json"
    assert container(azure, "Deployment")["envFrom"] == [{"secretRef": {"name": "azure-credentials"}}]
    assert _mounts(render(SCENARIOS["gcp-service-only"]))["/etc/ccm/credentials"] == "gcp-key"


def test_extra_args_and_cloud_flags_reach_the_controller(render: Render) -> None:
    aws = render(SCENARIOS["aws-irsa-nftables"])
    args = container(aws, "Deployment")["args"]
    assert args[-2:] == ["--kube-api-qps=40", "--kube-api-burst=80"]
    assert args_of(aws, "Deployment")["--aws-region"] == "eu-west-1"
    assert args_of(aws, "Deployment")["--gc-delete"] == ""
    gcp = args_of(render(SCENARIOS["gcp-service-only"]), "Deployment")
    assert (gcp["--cloud-provider"], gcp["--gcp-project"], gcp["--gcp-region"]) == ("gcp", "p1", "europe-west1")


def test_service_monitor_scrapes_the_secure_port_of_the_controller_pods(render: Render) -> None:
    docs = render(SCENARIOS["aws-irsa-nftables"])
    monitor = find(docs, "ServiceMonitor")
    service = find(docs, "Service", "cloud-controller-manager-metrics")
    pod_labels = find(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] == "https"
    assert endpoint["scheme"] == "https" and endpoint["path"] == "/metrics"
    reader = find(docs, "ClusterRole", "ccm:metrics-reader")
    assert reader["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    with pytest.raises(RenderError, match=r"serviceMonitor needs metrics.service.enabled"):
        render({"metrics": {"serviceMonitor": {"enabled": True}}})


_POLICY = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "ccm-annotations"},
    "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                     "operations": ["CREATE", "UPDATE"], "resources": ["services"]}]},
             "validations": [{"expression": "true"}]}}
_BINDING = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "ccm-annotations-binding"},
    "spec": {"policyName": "ccm-annotations", "validationActions": ["Audit"]}}


def test_admission_policy_slot_needs_the_policy_file(render: Render) -> None:
    with pytest.raises(RenderError, match="ccm admission-policy --provider fake"):
        render({"cloudProvider": "fake", "admissionPolicy": {"enabled": True}})
    assert not any(d["kind"].startswith("ValidatingAdmissionPolicy") for d in render())


def test_admission_policy_ships_the_generated_policy_of_the_cloud(render: Render) -> None:
    """files/admission-policy-aws.yaml (ccm admission-policy --provider aws): the errors binding takes
    the chart's actions, the warnings binding stays Warn."""
    docs = render({"cloudProvider": "aws", "admissionPolicy": {"enabled": True, "validationActions": ["Warn"]}})
    policies = {d["metadata"]["name"] for d in docs if d["kind"] == "ValidatingAdmissionPolicy"}
    assert policies == {"ccm-annotations-aws", "ccm-annotations-aws-warnings"}
    bindings = {d["spec"]["policyName"]: d["spec"]["validationActions"] for d in docs
                if d["kind"] == "ValidatingAdmissionPolicyBinding"}
    assert bindings == {"ccm-annotations-aws": ["Warn"], "ccm-annotations-aws-warnings": ["Warn"]}
    default = render({"cloudProvider": "aws", "admissionPolicy": {"enabled": True}})
    assert {d["spec"]["policyName"]: d["spec"]["validationActions"] for d in default
            if d["kind"] == "ValidatingAdmissionPolicyBinding"}["ccm-annotations-aws"] == ["Deny"]
    for doc in docs:
        if doc["kind"].startswith("ValidatingAdmissionPolicy"):
            for version in (OLDEST, NEWEST):
                _validate(doc, version)


@pytest.mark.parametrize(("documents", "binding"), [
    ([_POLICY], "ccm-annotations"),  # the chart binds it
    ([_POLICY, _BINDING], "ccm-annotations-binding"),  # the file's binding, with the chart's actions
], ids=["policy-only", "policy-and-binding"])
def test_admission_policy_slot_includes_the_policy_file(render: Render, tmp_path: Path,
                                                        documents: list[dict[str, Any]], binding: str) -> None:
    chart = tmp_path / "ccm"
    shutil.copytree(CHART, chart)
    (chart / "files" / "admission-policy.yaml").write_text(yaml.safe_dump_all(documents))
    docs = render({"admissionPolicy": {"enabled": True, "validationActions": ["Deny"]}}, chart=chart)
    assert find(docs, "ValidatingAdmissionPolicy", "ccm-annotations")["spec"] == _POLICY["spec"]
    bound = find(docs, "ValidatingAdmissionPolicyBinding")
    assert bound["metadata"]["name"] == binding
    assert bound["spec"] == {"policyName": "ccm-annotations", "validationActions": ["Deny"]}
    for doc in docs:
        for version in (OLDEST, NEWEST):
            _validate(doc, version)
