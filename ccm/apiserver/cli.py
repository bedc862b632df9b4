"""``ccm apiserver``: serve the in-memory API on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import tempfile
import threading

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=6443, help="port to listen on (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (loopback; any other address requires authentication: "
                             "--token-file, --token-auth-file or --token)")
    parser.add_argument("--kubeconfig", default=None,
                        help="where to write a kubeconfig for this server (default: a temporary file)")
    parser.add_argument("--allow-loopback-endpoints", action="store_true",
                        help="accept loopback EndpointSlice addresses (kube-apiserver rejects them; the "
                             "one-machine demo needs them)")
    parser.add_argument("--token", default=None,
                        help="require this static bearer token (an admin, in system:masters); visible in the "
                             "process list: prefer --token-file")
    parser.add_argument("--token-file", default=None,
                        help="read that admin bearer token from this file (first line)")
    parser.add_argument("--token-auth-file", default=None,
                        help="kube-apiserver static token file: token,user,uid[,\"group1,group2\"] per line")
    parser.add_argument("--authorization-mode", choices=("AlwaysAllow", "RBAC"), default="AlwaysAllow",
                        help="AlwaysAllow (default) or RBAC over the stored Roles and bindings "
                             "(system:masters may do anything; kube-apiserver's bootstrap roles are created)")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a self-signed certificate (its CA goes into the kubeconfig); "
                             "kubectl sends bearer tokens only over TLS")
    parser.add_argument("--service-cluster-ip-range", default="10.96.0.0/12", help="ClusterIP range")
    parser.add_argument("--watch-history", type=int, default=1000, help="events kept per resource for watches")
    parser.add_argument("-v", "--v", dest="verbosity", type=int, default=2, metavar="N",
                        help="log verbosity as in every ccm subcommand: 0 warnings, 1-3 info, 4+ debug (default 2)")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (a name other than localhost counts as reachable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from ccm.apiserver.testing import embedded_apiserver

    # the meaning of ccm.kube.logging.verbosity_level (this package may not import ccm.kube)
    level = logging.DEBUG if args.verbosity >= 4 else logging.INFO if args.verbosity >= 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ccm.apiserver.auth.users import TokenAuthenticator

    try:
        token = args.token
        if args.token_file:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.readline().strip() or None
        tokens = TokenAuthenticator.from_file(args.token_auth_file) if args.token_auth_file else None
    except (OSError, ValueError) as e:
        print(f"ccm apiserver: {e}", file=sys.stderr, flush=True)
        return 1
    if not is_loopback(args.host) and token is None and not tokens:
        # an unauthenticated API reachable from the network hands anyone the cluster
        print(f"ccm apiserver: refusing to serve on {args.host} without authentication: pass --token-file, "
              "--token-auth-file or --token (or listen on 127.0.0.1)", file=sys.stderr)
        return 2
    path = args.kubeconfig or os.path.join(tempfile.mkdtemp(prefix="ccm-apiserver-"), "kubeconfig")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with embedded_apiserver(allow_loopback_endpoints=args.allow_loopback_endpoints, token=token,
                            service_cidr=args.service_cluster_ip_range, watch_history=args.watch_history,
                            host=args.host, port=args.port, tokens=tokens,
                            authorization_mode=args.authorization_mode, tls=args.tls, cluster_objects=True) as server:
        server.write_kubeconfig(path)
        print(f"API server listening on {server.url}")
        print(f"kubeconfig: {path}")
        print(f"export KUBECONFIG={path}", flush=True)
        stop.wait()
    log.info("API server stopped")
    return 0
