"""The secure port of ``ccm controller`` (upstream's ``SecureServingOptions`` plus delegated authn/authz).

HTTPS on ``--secure-port`` (10258; 0 turns serving off) at ``--bind-address`` (0.0.0.0), with
``--tls-cert-file``/``--tls-private-key-file`` or a self-signed certificate made in memory for
localhost/127.0.0.1. Requests are authenticated by TokenReview and authorized by
SubjectAccessReview against the API server named by ``--authentication-kubeconfig`` /
``--authorization-kubeconfig``; when one is empty the in-cluster config is used, and outside a
cluster there is no client: every request is anonymous (authn) or only ``system:masters`` and the
always-allow paths pass (authz), as upstream. ``/healthz``, ``/readyz``, ``/livez`` are always
allowed by default (``--authorization-always-allow-paths``).
"""

from __future__ import annotations

import argparse
import logging

import kubernetes.client
import kubernetes.config

from ccm.controllers.manager import Serving
from ccm.kube.client import RawClient, load_api_client
from ccm.kube.flags import parse_duration
from ccm.kube.secure.authn import DelegatingAuthenticator
from ccm.kube.secure.authz import (
    DEFAULT_ALWAYS_ALLOW_PATHS,
    DelegatingAuthorizer,
    validate_always_allow_paths,
)
from ccm.kube.secure.chain import AuthChain
from ccm.tls import server_context

log = logging.getLogger(__name__)

DEFAULT_SECURE_PORT = 10258  # cloudprovider.CloudControllerManagerPort


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secure-port", type=int, default=DEFAULT_SECURE_PORT,
                   help="HTTPS port for /metrics, /healthz, /readyz, /livez; 0 disables serving (default 10258)")
    p.add_argument("--bind-address", default="0.0.0.0", help="address of the secure port (default 0.0.0.0)")
    p.add_argument("--tls-cert-file", default=None,
                   help="serving certificate (chain) PEM; without it a self-signed one is made in memory")
    p.add_argument("--tls-private-key-file", default=None, help="the serving certificate's key PEM")
    p.add_argument("--authentication-kubeconfig", default=None,
                   help="kubeconfig with rights to create tokenreviews.authentication.k8s.io; if empty, the "
                        "in-cluster config, and outside a cluster every request is anonymous")
    p.add_argument("--authorization-kubeconfig", default=None,
                   help="kubeconfig with rights to create subjectaccessreviews.authorization.k8s.io; if empty, "
                        "the in-cluster config, and outside a cluster everything not always allowed is forbidden")
    p.add_argument("--authorization-always-allow-paths", default=",".join(DEFAULT_ALWAYS_ALLOW_PATHS),
                   help="paths (a trailing * is a prefix) served without authorization "
                        f"(default {','.join(DEFAULT_ALWAYS_ALLOW_PATHS)})")
    p.add_argument("--authentication-token-webhook-cache-ttl", type=parse_duration, default=10.0,
                   help="how long TokenReview answers are cached (default 10s)")
    p.add_argument("--authorization-webhook-cache-authorized-ttl", type=parse_duration, default=10.0,
                   help="how long allowed SubjectAccessReview answers are cached (default 10s)")
    p.add_argument("--authorization-webhook-cache-unauthorized-ttl", type=parse_duration, default=10.0,
                   help="how long denied SubjectAccessReview answers are cached (default 10s)")


def _delegation_client(kubeconfig: str | None, purpose: str) -> RawClient | None:
    """The explicit kubeconfig, else in-cluster, else none (a warning, as upstream)."""
    if kubeconfig:
        try:
            return RawClient(load_api_client(kubeconfig), timeout=10.0)
        except Exception as exc:
            raise ValueError(f"cannot load --{purpose}-kubeconfig {kubeconfig}: {exc}") from None
    try:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_incluster_config(client_configuration=configuration)
        return RawClient(kubernetes.client.ApiClient(configuration), timeout=10.0)
    except kubernetes.config.ConfigException:
        if purpose == "authentication":
            log.warning("no --authentication-kubeconfig and not in a cluster: every request to the secure port "
                        "is anonymous")
        else:
            log.warning("no --authorization-kubeconfig and not in a cluster: everything but the always-allowed "
                        "paths is forbidden on the secure port")
        return None


def build(args: argparse.Namespace) -> Serving | None:
    """The secure port's settings from the flags; None when ``--secure-port 0``. ValueError names a bad flag."""
    if args.secure_port == 0:
        return None
    if not 0 < args.secure_port < 65536:
        raise ValueError(f"--secure-port {args.secure_port}: not a port (1-65535, or 0 to disable)")
    paths = [p.strip() for p in args.authorization_always_allow_paths.split(",") if p.strip()]
    validate_always_allow_paths(paths)
    tls, _ = server_context(args.tls_cert_file, args.tls_private_key_file)
    if not args.tls_cert_file:
        log.info("Generated self-signed cert in-memory (localhost, 127.0.0.1)")
    authn = DelegatingAuthenticator(_delegation_client(args.authentication_kubeconfig, "authentication"),
                                    ttl=args.authentication_token_webhook_cache_ttl)
    authz = DelegatingAuthorizer(_delegation_client(args.authorization_kubeconfig, "authorization"),
                                 always_allow_paths=paths,
                                 allowed_ttl=args.authorization_webhook_cache_authorized_ttl,
                                 denied_ttl=args.authorization_webhook_cache_unauthorized_ttl)
    return Serving(bind_address=args.bind_address, port=args.secure_port, tls=tls, guard=AuthChain(authn, authz))
