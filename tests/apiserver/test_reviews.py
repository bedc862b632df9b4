"""Token file, RBAC, and the review APIs (TokenReview, SubjectAccessReview, SelfSubjectAccessReview, ...).

Through the official client over HTTPS (kubectl sends bearer tokens only over TLS), and kubectl
``auth can-i``/``auth whoami`` where the server speaks the protobuf kubectl sends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes.client as k8s
import pytest

from ccm.apiserver.auth.users import TokenAuthenticator, parse_token_file
from ccm.apiserver.testing import EmbeddedAPIServer, embedded_apiserver

TOKENS = """\
# token,user,uid,"groups"
admin-token,alice,u-1,system:masters
scraper-token,prometheus,u-2,"monitoring,ops"
plain-token,bob,u-3
"""
GROUP = "rbac.authorization.k8s.io"
KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"


@pytest.fixture
def server() -> Iterator[EmbeddedAPIServer]:
    with embedded_apiserver(tokens=TokenAuthenticator(parse_token_file(TOKENS)), authorization_mode="RBAC",
                            tls=True) as s:
        admin = s.api_client("admin-token")
        rbac = k8s.RbacAuthorizationV1Api(admin)
        rbac.create_cluster_role({"metadata": {"name": "metrics-reader"}, "rules": [  # type: ignore[arg-type]
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
        rbac.create_cluster_role_binding({  # type: ignore[arg-type]
            "metadata": {"name": "metrics-reader"},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "metrics-reader"},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": "monitoring"}]})
        rbac.create_namespaced_role("default", {"metadata": {"name": "svc-reader"}, "rules": [  # type: ignore[arg-type]
            {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list"]}]})
        rbac.create_namespaced_role_binding("default", {  # type: ignore[arg-type]
            "metadata": {"name": "bob-reads-services"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "svc-reader"},
            "subjects": [{"apiGroup": GROUP, "kind": "User", "name": "bob"}]})
        admin.close()
        yield s


def test_token_file_format_errors():
    with pytest.raises(ValueError, match="line 1"):
        parse_token_file("only-a-token\n")
    with pytest.raises(ValueError, match="line 2: duplicate token"):
        parse_token_file("t,a,1\nt,b,2\n")


def test_authentication_and_rbac_on_requests(server):
    bob = k8s.CoreV1Api(server.api_client("plain-token"))
    assert bob.list_namespaced_service("default").items == []
    with pytest.raises(k8s.ApiException) as e:
        bob.list_namespaced_service("kube-system")
    assert e.value.status == 403
    assert ('services is forbidden: User \\"bob\\" cannot list resource \\"services\\" in API group \\"\\" in the '
            'namespace \\"kube-system\\"') in e.value.body
    with pytest.raises(k8s.ApiException) as e:
        k8s.CoreV1Api(server.api_client("wrong-token")).list_namespaced_service("default")
    assert e.value.status == 401
    cfg = k8s.Configuration(host=server.url)
    cfg.ssl_ca_cert = server.ca_file
    anonymous = k8s.ApiClient(cfg)
    with pytest.raises(k8s.ApiException) as e:
        k8s.CoreV1Api(anonymous).list_namespaced_service("default")
    assert e.value.status == 401  # tokens configured: no anonymous access
    assert k8s.RbacAuthorizationV1Api(server.api_client("admin-token")).read_cluster_role("system:auth-delegator")


def test_token_review(server):
    authn = k8s.AuthenticationV1Api(server.api_client("admin-token"))
    ok = authn.create_token_review({"spec": {"token": "scraper-token"}})  # type: ignore[arg-type]
    assert ok.status.authenticated
    assert (ok.status.user.username, ok.status.user.uid) == ("prometheus", "u-2")
    assert ok.status.user.groups == ["monitoring", "ops", "system:authenticated"]
    bad = authn.create_token_review({"spec": {"token": "nope"}})  # type: ignore[arg-type]
    assert not bad.status.authenticated and bad.status.error
    # bob may not review tokens (no system:auth-delegator)
    with pytest.raises(k8s.ApiException) as e:
        k8s.AuthenticationV1Api(server.api_client("plain-token")).create_token_review(
            {"spec": {"token": "scraper-token"}})  # type: ignore[arg-type]
    assert e.value.status == 403


def sar(api, **spec):
    return api.create_subject_access_review({"spec": spec}).status  # type: ignore[arg-type]


def test_subject_access_reviews(server):
    authz = k8s.AuthorizationV1Api(server.api_client("admin-token"))
    metrics = {"path": "/metrics", "verb": "get"}
    allowed = sar(authz, user="prometheus", groups=["monitoring"], nonResourceAttributes=metrics)
    assert allowed.allowed and 'ClusterRoleBinding "metrics-reader"' in allowed.reason
    assert not sar(authz, user="bob", groups=["system:authenticated"], nonResourceAttributes=metrics).allowed
    assert sar(authz, user="root", groups=["system:masters"], nonResourceAttributes=metrics).allowed
    services = {"namespace": "default", "verb": "list", "resource": "services"}
    assert sar(authz, user="bob", resourceAttributes=services).allowed
    assert not sar(authz, user="bob", resourceAttributes={**services, "namespace": "other"}).allowed
    assert sar(authz, user="anyone", groups=["system:unauthenticated"],
               nonResourceAttributes={"path": "/healthz", "verb": "get"}).allowed  # public-info-viewer
    with pytest.raises(k8s.ApiException) as e:
        sar(authz, user="bob", resourceAttributes=services, nonResourceAttributes=metrics)
    assert e.value.status == 422
    local = authz.create_namespaced_local_subject_access_review("default", {  # type: ignore[arg-type]
        "metadata": {"namespace": "default"}, "spec": {"user": "bob", "resourceAttributes": services}})
    assert local.status.allowed
    # self reviews: any authenticated user may ask about itself (system:basic-user)
    bob = k8s.AuthorizationV1Api(server.api_client("plain-token"))
    mine = bob.create_self_subject_access_review({"spec": {"resourceAttributes": services}})  # type: ignore[arg-type]
    assert mine.status.allowed
    mine = bob.create_self_subject_access_review({"spec": {"nonResourceAttributes": metrics}})  # type: ignore[arg-type]
    assert not mine.status.allowed
    who = k8s.AuthenticationV1Api(server.api_client("scraper-token")).create_self_subject_review({})  # type: ignore[arg-type]
    assert who.status.user_info.username == "prometheus"


def test_reviews_are_create_only(server):
    api = server.api_client("admin-token")
    try:
        resources = {r.name: r.verbs for r in k8s.AuthorizationV1Api(api).get_api_resources().resources}
        assert resources["subjectaccessreviews"] == ["create"]
        with pytest.raises(k8s.ApiException) as e:
            k8s.CustomObjectsApi(api).list_cluster_custom_object("authorization.k8s.io", "v1",
                                                                 "subjectaccessreviews")
        assert e.value.status == 405
    finally:
        api.close()


@pytest.mark.skipif(not KUBECTL.exists() and not shutil.which("kubectl"), reason="kubectl not installed")
def test_kubectl_auth_can_i_and_whoami(server, tmp_path):
    binary = str(KUBECTL if KUBECTL.exists() else shutil.which("kubectl"))

    def kubectl(token: str, *args: str) -> subprocess.CompletedProcess[str]:
        kubeconfig = server.write_kubeconfig(tmp_path / f"{token}.kubeconfig", token=token)
        assert oct(os.stat(kubeconfig).st_mode & 0o777) == "0o600"
        return subprocess.run([binary, *args], env=dict(os.environ, KUBECONFIG=kubeconfig, HOME=str(tmp_path)),
                              capture_output=True, text=True, timeout=30, check=False)

    yes = kubectl("scraper-token", "auth", "can-i", "get", "/metrics")
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes"), yes.stderr
    no = kubectl("plain-token", "auth", "can-i", "get", "/metrics")
    assert (no.returncode, no.stdout.strip()) == (1, "no"), no.stderr
    assert kubectl("plain-token", "auth", "can-i", "list", "services").stdout.strip() == "yes"
    assert kubectl("plain-token", "auth", "can-i", "list", "services", "-n", "kube-system").stdout.strip() == "no"
    who = kubectl("scraper-token", "auth", "whoami")
    assert "prometheus" in who.stdout, who.stderr
    # a token kubectl create token prints is a bearer token here, and TokenReview vouches for it
    assert kubectl("admin-token", "create", "serviceaccount", "robot").returncode == 0
    minted = kubectl("admin-token", "create", "token", "robot")
    assert minted.returncode == 0, minted.stderr
    who = kubectl("admin-token", "--token", minted.stdout.strip(), "auth", "whoami", "-o", "json")
    assert '"username": "system:serviceaccount:default:robot"' in who.stdout, who.stderr
    review = k8s.AuthenticationV1Api(server.api_client("admin-token")).create_token_review(
        {"spec": {"token": minted.stdout.strip()}})  # type: ignore[arg-type]
    assert review.status.authenticated and review.status.user.username == "system:serviceaccount:default:robot"


def test_service_account_tokens_authenticate_until_their_account_goes(server):
    admin = server.api_client("admin-token")
    core, authn = k8s.CoreV1Api(admin), k8s.AuthenticationV1Api(admin)
    account = core.create_namespaced_service_account("default", {"metadata": {"name": "robot"}})  # type: ignore[arg-type]

    def mint(**spec: object) -> str:
        return core.create_namespaced_service_account_token(
            "robot", "default", {"spec": spec}).status.token  # type: ignore[arg-type]

    def review(token: str, **spec: object) -> k8s.V1TokenReviewStatus:
        return authn.create_token_review({"spec": {"token": token, **spec}}).status  # type: ignore[arg-type]

    token = mint()
    ok = review(token)
    assert ok.authenticated, ok.error
    assert (ok.user.username, ok.user.uid) == ("system:serviceaccount:default:robot", account.metadata.uid)
    assert ok.user.groups == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]
    assert ok.user.extra["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")
    # a bearer token on requests too: RBAC sees the service account (no binding: forbidden, not 401)
    with pytest.raises(k8s.ApiException) as e:
        k8s.CoreV1Api(server.api_client(token)).list_namespaced_service("default")
    assert e.value.status == 403 and "system:serviceaccount:default:robot" in e.value.body
    # audiences: a token for another audience is not the API server's, and the reverse
    assert not review(token, audiences=["vault"]).authenticated
    vault = mint(audiences=["vault"])
    assert not review(vault).authenticated
    assert review(vault, audiences=["vault"]).authenticated
    # tampered, or outliving its account: proves nothing
    header, payload, signature = token.split(".")
    forged = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert not review(f"{header}.{payload}.{forged}").authenticated
    core.delete_namespaced_service_account("robot", "default")
    assert not review(token).authenticated
    core.create_namespaced_service_account("default", {"metadata": {"name": "robot"}})  # type: ignore[arg-type]
    assert not review(token).authenticated  # same name, new uid
    admin.close()
