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
                        help="address to listen on (loopback; any other address requires --token)")
    parser.add_argument("--kubeconfig", default=None,
                        help="where to write a kubeconfig for this server (default: a temporary file)")
    parser.add_argument("--allow-loopback-endpoints", action="store_true",
                        help="accept loopback EndpointSlice addresses (kube-apiserver rejects them; the "
                             "one-machine demo needs them)")
    parser.add_argument("--token", default=None, help="require this static bearer token")
    parser.add_argument("--service-cluster-ip-range", default="10.96.0.0/12", help="ClusterIP range")
    parser.add_argument("--watch-history", type=int, default=1000, help="events kept per resource for watches")


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

    if not is_loopback(args.host) and args.token is None:
        # an unauthenticated API reachable from the network hands anyone the cluster
        print(f"ccm apiserver: refusing to serve on {args.host} without authentication: pass --token "
              "(or listen on 127.0.0.1)", file=sys.stderr)
        return 2

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    path = args.kubeconfig or os.path.join(tempfile.mkdtemp(prefix="ccm-apiserver-"), "kubeconfig")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with embedded_apiserver(allow_loopback_endpoints=args.allow_loopback_endpoints, token=args.token,
                            service_cidr=args.service_cluster_ip_range, watch_history=args.watch_history,
                            host=args.host, port=args.port) as server:
        server.write_kubeconfig(path)
        print(f"API server listening on {server.url}")
        print(f"kubeconfig: {path}")
        print(f"export KUBECONFIG={path}", flush=True)
        stop.wait()
    log.info("API server stopped")
    return 0
