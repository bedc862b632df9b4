"""The secure port: TLS, delegated authentication (TokenReview) and authorization (SubjectAccessReview).

The embedded API server answers the reviews (static token file, RBAC); the controller's delegation
client has only ``system:auth-delegator``, as the upstream RBAC for a cloud-controller-manager does.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator

import kubernetes.client as k8s
import pytest
from cryptography import x509

from ccm.apiserver.auth.users import TokenAuthenticator, parse_token_file
from ccm.apiserver.testing import EmbeddedAPIServer, embedded_apiserver
from ccm.controllers import cli, serving
from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.tls import self_signed
from providers.fake import FakeCloud

TOKENS = """\
admin-token,admin,1,system:masters
delegator-token,system:serviceaccount:kube-system:cloud-controller-manager,2
scraper-token,prometheus,3,monitoring
bob-token,bob,4
"""
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def api() -> Iterator[EmbeddedAPIServer]:
    with embedded_apiserver(tokens=TokenAuthenticator(parse_token_file(TOKENS)), authorization_mode="RBAC") as s:
        admin = s.api_client("admin-token")
        rbac = k8s.RbacAuthorizationV1Api(admin)
        rbac.create_cluster_role_binding({  # type: ignore[arg-type]
            "metadata": {"name": "ccm:auth-delegator"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "system:auth-delegator"},
            "subjects": [{"kind": "ServiceAccount", "name": "cloud-controller-manager", "namespace": "kube-system"}]})
        rbac.create_cluster_role({"metadata": {"name": "metrics-reader"}, "rules": [  # type: ignore[arg-type]
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
        rbac.create_cluster_role_binding({  # type: ignore[arg-type]
            "metadata": {"name": "metrics-reader"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "metrics-reader"},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "monitoring"}]})
        admin.close()
        yield s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flags(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return p.parse_args(["--cloud-provider", "fake", *argv])


@pytest.fixture
def controller(api, tmp_path) -> Iterator[ControllerManager]:
    delegation = api.write_kubeconfig(tmp_path / "delegation", token="delegator-token")
    args = flags("--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
                 "--authentication-kubeconfig", delegation, "--authorization-kubeconfig", delegation)
    client = api.api_client("admin-token")
    mgr = ControllerManager(client, FakeCloud(), ControllerOptions(), serving=serving.build(args))
    mgr.start()
    try:
        yield mgr
    finally:
        mgr.stop()
        client.close()


def get(url: str, token: str | None = None, ca: bytes | None = None) -> tuple[int, str]:
    ctx = ssl.create_default_context(cadata=ca.decode()) if ca else ssl._create_unverified_context()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_tls_with_a_self_signed_certificate(controller):
    assert controller.health is not None and controller.health.scheme == "https"
    with socket.create_connection(("127.0.0.1", controller.health.port), timeout=5) as raw:
        ctx = ssl._create_unverified_context()
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    # a plain-HTTP client gets nothing, and the port keeps serving
    with socket.create_connection(("127.0.0.1", controller.health.port), timeout=5) as plain:
        plain.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not plain.recv(100).startswith(b"HTTP/1.1 200")
    assert get(controller.health.url + "/healthz") == (200, "ok")


def test_401_403_200(controller):
    base = controller.health.url
    assert get(base + "/healthz") == (200, "ok")  # always allowed, also for anonymous
    assert get(base + "/readyz")[0] == 200
    status, body = get(base + "/metrics")
    assert status == 403 and json.loads(body)["message"] == 'forbidden: User "system:anonymous" cannot get path "/metrics"'
    status, body = get(base + "/metrics", "not-a-token")
    assert (status, json.loads(body)["reason"]) == (401, "Unauthorized")
    status, body = get(base + "/metrics", "bob-token")
    assert status == 403 and json.loads(body)["message"] == 'forbidden: User "bob" cannot get path "/metrics"'
    status, body = get(base + "/metrics", "scraper-token")
    assert status == 200 and "running_managed_controllers" in body
    assert get(base + "/metrics", "admin-token")[0] == 200  # system:masters: no review needed
    chain = controller.serving.guard
    reviews = chain.authenticator.reviews, chain.authorizer.reviews
    assert get(base + "/metrics", "scraper-token")[0] == 200
    assert (chain.authenticator.reviews, chain.authorizer.reviews) == reviews  # both answers cached (10 s)
    assert get(base + "/healthz/cloud-node", "bob-token")[0] == 403  # only the exact default paths are open


def test_given_certificate_and_disabled_port(api, tmp_path):
    chain, key, ca = self_signed(("ccm.example",), ("127.0.0.1",))
    (tmp_path / "tls.crt").write_bytes(chain)
    (tmp_path / "tls.key").write_bytes(key)
    port = free_port()
    args = flags("--bind-address", "127.0.0.1", "--secure-port", str(port), "--tls-cert-file",
                 str(tmp_path / "tls.crt"), "--tls-private-key-file", str(tmp_path / "tls.key"))
    client = api.api_client("admin-token")
    mgr = ControllerManager(client, FakeCloud(), ControllerOptions(), serving=serving.build(args))
    mgr.start()
    try:
        assert get(f"https://127.0.0.1:{port}/livez", ca=ca) == (200, "ok")  # verified against our CA
    finally:
        mgr.stop()
        client.close()
    assert serving.build(flags("--secure-port", "0")) is None
