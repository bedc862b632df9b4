"""Who may talk to the demo cluster: an admin token for the parts, a metrics token for you.

The demo's API server speaks HTTPS (kubectl sends bearer tokens only over TLS) with RBAC; the
kubeconfig it writes (0600) carries the admin token. The controller serves its metrics on a
secure port like a real cloud-controller-manager: TLS with a self-signed certificate, tokens
checked by TokenReview and access by SubjectAccessReview against the demo API server, where only
``ccm-demo:metrics-reader`` (bound to the ``metrics`` token's user) may get ``/metrics``.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from ccm.kube.client import RawClient

if TYPE_CHECKING:
    from ccm.apiserver.auth.users import TokenAuthenticator
    from ccm.controllers.manager import Serving

METRICS_USER = "ccm-demo:metrics-scraper"
METRICS_ROLE = "ccm-demo:metrics-reader"
RBAC = "rbac.authorization.k8s.io"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


@dataclasses.dataclass
class DemoAccess:
    admin_token: str
    metrics_token: str
    metrics_token_file: Path

    @classmethod
    def create(cls, workdir: Path) -> DemoAccess:
        access = cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), workdir / "metrics-token")
        _write_private(access.metrics_token_file, access.metrics_token + "\n")
        return access

    def tokens(self) -> TokenAuthenticator:
        from ccm.apiserver.auth.users import MASTERS, TokenAuthenticator, User

        tokens = TokenAuthenticator()
        tokens.add(self.admin_token, User("ccm-demo:admin", "demo-admin", (MASTERS,)))
        tokens.add(self.metrics_token, User(METRICS_USER, "demo-metrics"))
        return tokens

    def grant_metrics(self, client: RawClient) -> None:
        """The ClusterRole and binding a Prometheus scraper gets in a real cluster."""
        client.create(f"/apis/{RBAC}/v1/clusterroles", {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": METRICS_ROLE},
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
        client.create(f"/apis/{RBAC}/v1/clusterrolebindings", {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": METRICS_ROLE},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": METRICS_ROLE},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": METRICS_USER}]})

    @staticmethod
    def serving(client: RawClient) -> Serving:
        """The controller's secure port on an ephemeral loopback port, delegating to the demo API server."""
        from ccm.controllers.manager import Serving
        from ccm.kube.secure.authn import DelegatingAuthenticator
        from ccm.kube.secure.authz import DelegatingAuthorizer
        from ccm.kube.secure.chain import AuthChain
        from ccm.tls import server_context

        tls, _ = server_context()
        return Serving("127.0.0.1", 0, tls, AuthChain(DelegatingAuthenticator(client), DelegatingAuthorizer(client)))

    def instructions(self, metrics_url: str) -> list[str]:
        return [
            f"  Controller metrics (HTTPS, self-signed; needs a token allowed to get /metrics): {metrics_url}",
            f"    curl -sk -H \"Authorization: Bearer $(cat {self.metrics_token_file})\" {metrics_url} | grep ^service_",
        ]
