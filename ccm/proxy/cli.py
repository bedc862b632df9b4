"""``ccm node-proxy``: run one node's proxy until SIGINT/SIGTERM.

At start the open-files soft limit is raised to the hard one (as Go does for kube-proxy) and
both are logged; ``/metrics`` is served on ``--metrics-bind-address`` (kube-proxy's flag and
default port), a failure to bind it is logged and the proxy runs without.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccm.kube.httpserver import HealthServer
    from ccm.proxy.engine import ThreadedEngine

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-name", required=True, help="the Node this proxy serves")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: in-cluster)")
    parser.add_argument("--nodeport-addresses", default="",
                        help="comma-separated CIDRs and keywords (primary, localhost, all) selecting the "
                             "addresses nodePorts bind on; default: the Node's InternalIP addresses")
    parser.add_argument("--healthz-bind-address", default="0.0.0.0:10256",
                        help="ip:port of /healthz and /livez; empty disables")
    parser.add_argument("--metrics-bind-address", default="127.0.0.1:10249",
                        help="ip:port of /metrics (kube-proxy's default); empty disables")
    parser.add_argument("--proxy-protocol-trusted-cidrs", default="",
                        help="comma-separated CIDRs of the load balancers whose PROXY protocol headers are "
                             "believed (e.g. their subnets); a header names the client that "
                             "loadBalancerSourceRanges and affinity see, so from anyone else it is not "
                             "accepted (see --proxy-protocol-untrusted); default: nobody")
    parser.add_argument("--proxy-protocol-untrusted", choices=("refuse", "use-peer"), default="refuse",
                        help="a PROXY-protocol connection from outside the trusted CIDRs: refuse closes it at "
                             "accept; use-peer reads and drops its header and takes the peer as the client")
    parser.add_argument("--max-connections-per-listener", type=_non_negative, default=0,
                        help="open TCP connections per nodePort listener; beyond it a new connection is reset "
                             "at once (counted in ccm_node_proxy_rejected_connections_total{reason="
                             "\"max_connections\"}); 0 (default) = no limit")
    parser.add_argument("--udp-timeout", type=float, default=30.0, help="idle timeout of UDP flows, seconds")
    parser.add_argument("--sync-period", type=float, default=30.0,
                        help="full resync period; health turns bad after 2x this with an update pending")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the data plane on uvloop: it passed a 10-minute churn soak (bench/proxy.py "
                             "soak) and saves 4-8%% CPU per request/connection, but costs 0.4 KiB more per "
                             "idle connection; off by default")
    parser.add_argument("--no-splice", action="store_true", help="use buffered copies instead of os.splice")
    parser.add_argument("-v", "--verbose", action="store_true")


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (0 means no limit)")
    return value


def run(args: argparse.Namespace) -> int:
    from ccm.kube.client import load_api_client
    from ccm.proxy.engine import ThreadedEngine
    from ccm.proxy.limits import raise_open_files_limit
    from ccm.proxy.model import validate_nodeport_addresses
    from ccm.proxy.nodeproxy import NodeProxy, parse_bind, parse_cidrs

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    addresses = [a.strip() for a in args.nodeport_addresses.split(",") if a.strip()]
    try:
        validate_nodeport_addresses(addresses)
        trusted = parse_cidrs("--proxy-protocol-trusted-cidrs", args.proxy_protocol_trusted_cidrs)
        if args.healthz_bind_address:
            parse_bind(args.healthz_bind_address)
        metrics_bind = (parse_bind(args.metrics_bind_address, "--metrics-bind-address")
                        if args.metrics_bind_address else None)
    except ValueError as e:
        log.error("%s", e)
        return 2
    before, soft, hard = raise_open_files_limit()
    log.info("%s: open-files limit (RLIMIT_NOFILE) soft %d%s, hard %d", args.node_name, soft,
             f" (raised from {before})" if soft != before else "", hard)
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
                      udp_idle_timeout=args.udp_timeout, sync_period=args.sync_period,
                      proxy_protocol_trusted_cidrs=trusted, untrusted_proxy_protocol=args.proxy_protocol_untrusted,
                      max_connections_per_listener=args.max_connections_per_listener)
    if not trusted:
        log.info("%s: no --proxy-protocol-trusted-cidrs: connections to Services with PROXY protocol "
                 "are refused until their load balancers' addresses are given", args.node_name)
    metrics = _serve_metrics(args.node_name, metrics_bind, engine)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    engine.start()
    try:
        proxy.start()
    except OSError as e:
        log.error("%s: cannot start the node proxy: %s", args.node_name, e)
        if metrics is not None:
            metrics.stop()
        engine.stop()
        return 1
    done.wait()
    log.info("%s: stopping", args.node_name)
    proxy.stop()
    if metrics is not None:
        metrics.stop()
    engine.stop()
    return 0


def _serve_metrics(node_name: str, bind: tuple[str, int] | None, engine: ThreadedEngine) -> HealthServer | None:
    """Register the engine's counters and serve /metrics; None when disabled or the port is taken."""
    from prometheus_client import REGISTRY

    from ccm.kube.httpserver import HealthServer
    from ccm.proxy.metrics import EngineCollector

    REGISTRY.register(EngineCollector(engine.stats))
    if bind is None:
        return None
    try:
        server = HealthServer(*bind)
    except OSError as e:
        log.warning("%s: cannot serve /metrics on %s:%d (%s); running without", node_name, *bind,
                    e.strerror or e)
        return None
    server.start()
    return server
