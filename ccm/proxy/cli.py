"""``ccm node-proxy``: run one node's proxy until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from ccm.kube.flags import add_logging
from ccm.kube.logging import setup_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-name", required=True, help="the Node this proxy serves")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: in-cluster)")
    parser.add_argument("--nodeport-addresses", default="",
                        help="comma-separated CIDRs and keywords (primary, localhost, all) selecting the "
                             "addresses nodePorts bind on; default: the Node's InternalIP addresses")
    parser.add_argument("--healthz-bind-address", default="0.0.0.0:10256",
                        help="ip:port of /healthz and /livez; empty disables")
    parser.add_argument("--udp-timeout", type=float, default=30.0, help="idle timeout of UDP flows, seconds")
    parser.add_argument("--sync-period", type=float, default=30.0,
                        help="full resync period; health turns bad after 2x this with an update pending")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the data plane on uvloop: it passed a 10-minute churn soak (bench/proxy.py "
                             "soak) and saves 4-8%% CPU per request/connection, but costs 0.4 KiB more per "
                             "idle connection; off by default")
    parser.add_argument("--no-splice", action="store_true", help="use buffered copies instead of os.splice")
    add_logging(parser)


def run(args: argparse.Namespace) -> int:
    from ccm.kube.client import load_api_client
    from ccm.proxy.engine import ThreadedEngine
    from ccm.proxy.model import validate_nodeport_addresses
    from ccm.proxy.nodeproxy import NodeProxy, parse_bind

    setup_from_args(args.verbosity, args.logging_format)
    addresses = [a.strip() for a in args.nodeport_addresses.split(",") if a.strip()]
    try:
        validate_nodeport_addresses(addresses)
        if args.healthz_bind_address:
            parse_bind(args.healthz_bind_address)
    except ValueError as e:
        log.error("%s", e)
        return 2
    try:
        api_client = load_api_client(args.kubeconfig)
    except Exception as e:  # the kubernetes config loader raises its own exception types
        log.error("%s: cannot load the kubeconfig %s: %s", args.node_name, args.kubeconfig, e)
        return 1
    use_uvloop = args.uvloop
    if use_uvloop:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            log.warning("%s: uvloop is not installed (pip install ccm[uvloop]); using asyncio", args.node_name)
            use_uvloop = False
    engine = ThreadedEngine(splice=False if args.no_splice else None, use_uvloop=use_uvloop)
    proxy = NodeProxy(api_client, args.node_name, nodeport_addresses=addresses,
                      healthz_bind=args.healthz_bind_address or None, engine=engine,
                      udp_idle_timeout=args.udp_timeout, sync_period=args.sync_period)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    engine.start()
    try:
        proxy.start()
    except OSError as e:
        log.error("%s: cannot start the node proxy: %s", args.node_name, e)
        engine.stop()
        return 1
    done.wait()
    log.info("%s: stopping", args.node_name)
    proxy.stop()
    engine.stop()
    return 0
