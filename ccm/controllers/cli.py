"""``ccm controller``: run the service controller (flag names follow upstream cloud-controller-manager)."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
from collections.abc import Sequence

log = logging.getLogger(__name__)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go-style durations (``15s``, ``1m30s``, ``500ms``) or plain seconds."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pos, value = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            value += float(m.group(1)) * _UNIT[m.group(2)]
            pos = m.end()
        if pos != len(text) or not text:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 15s, 2m, 1h30m") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must not be negative")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"invalid --provider-option {text!r}: expected key=value")
    return key.strip(), value.strip()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", help="kubeconfig file; in-cluster config when omitted")
    p.add_argument("--cloud-provider", required=True, help="fake, local or aws")
    p.add_argument("--cloud-config", help="provider config file (key = value lines, [sections] ignored)")
    p.add_argument("--cluster-name", default="kubernetes", help="instance prefix for the cluster")
    p.add_argument("--concurrent-service-syncs", type=int, default=1,
                   help="the number of services that are allowed to sync concurrently")
    p.add_argument("--leader-elect", action="store_true", help="run leader election (for HA replicas)")
    p.add_argument("--leader-elect-lease-duration", type=parse_duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=parse_duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=parse_duration, default=2.0)
    p.add_argument("--leader-elect-resource-namespace", default="kube-system")
    p.add_argument("--leader-elect-resource-name", default="cloud-controller-manager")
    p.add_argument("--bind-address", default="127.0.0.1", help="address for /metrics, /healthz, /readyz")
    p.add_argument("--secure-port", "--port", dest="port", type=int, default=None,
                   help="port for /metrics, /healthz, /readyz (plain HTTP; omitted: no server)")
    p.add_argument("--load-balancer-class", default=None,
                   help="also own LoadBalancer Services with this spec.loadBalancerClass")
    p.add_argument("--ignore-unclassed", action="store_true",
                   help="leave Services without a loadBalancerClass to another controller")
    p.add_argument("--resync-period", type=parse_duration, default=None,
                   help="re-ensure every owned Service this often (repairs out-of-band cloud changes)")
    p.add_argument("--node-sync-period", type=parse_duration, default=None,
                   help="deprecated upstream and ignored: node sync is event-driven")
    p.add_argument("--aws-endpoint-url", default=None, help="AWS API endpoint (e.g. an emulator)")
    p.add_argument("--aws-region", default=None,
                   help="AWS region (default: the boto3 chain, e.g. AWS_REGION)")
    p.add_argument("--provider-option", action="append", type=_key_value, default=[], metavar="K=V")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=2, help="log verbosity (klog-style)")


def read_cloud_config(path: str) -> dict[str, str]:
    """``key = value`` lines (gcfg/INI style: ``[section]`` headers and ``#``/``;`` comments skipped)."""
    options: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(("#", ";", "[")):
                continue
            key, sep, value = line.partition("=")
            if sep:
                options[key.strip()] = value.strip().strip('"')
    return options


def provider_options(args: argparse.Namespace) -> dict[str, str]:
    options = read_cloud_config(args.cloud_config) if args.cloud_config else {}
    if args.aws_endpoint_url:
        options["aws-endpoint-url"] = args.aws_endpoint_url
    if args.aws_region:
        options["aws-region"] = args.aws_region
    if args.cloud_config:
        # providers with a strict config format (gce.conf) re-read the file themselves
        options["cloud-config"] = args.cloud_config
    options.update(dict(args.provider_option))
    return options


def _level(verbosity: int) -> str:
    return "DEBUG" if verbosity >= 4 else "INFO" if verbosity >= 1 else "WARNING"


def run(args: argparse.Namespace) -> int:
    from ccm.controllers.manager import ControllerManager, ControllerOptions
    from ccm.kube.client import load_api_client
    from ccm.kube.logging import setup_logging
    from providers.port import ProviderContext
    from providers.registry import create_provider

    setup_logging(_level(args.verbosity), args.log_format)
    try:
        cloud = create_provider(args.cloud_provider, ProviderContext(args.cluster_name, provider_options(args)))
    except Exception as exc:
        log.error("cannot create cloud provider %r: %s", args.cloud_provider, exc)
        return 1
    opts = ControllerOptions(
        cluster_name=args.cluster_name, concurrent_service_syncs=args.concurrent_service_syncs,
        load_balancer_class=args.load_balancer_class, ignore_unclassed=args.ignore_unclassed,
        resync_period=args.resync_period or None, leader_elect=args.leader_elect,
        leader_elect_namespace=args.leader_elect_resource_namespace,
        leader_elect_name=args.leader_elect_resource_name,
        lease_duration=args.leader_elect_lease_duration, renew_deadline=args.leader_elect_renew_deadline,
        retry_period=args.leader_elect_retry_period, bind_address=args.bind_address, port=args.port,
    )
    try:
        manager = ControllerManager(load_api_client(args.kubeconfig), cloud, opts)
    except Exception as exc:
        log.error("cannot start the service controller: %s", exc)
        cloud.close()
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    manager.start()
    if manager.health is not None:
        print(f"serving /metrics /healthz /readyz on {opts.bind_address}:{manager.health.port}", flush=True)
    stop.wait()
    log.info("shutting down")
    manager.stop()
    cloud.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ccm controller")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
