"""``ccm controller``: the cloud controllers, with upstream cloud-controller-manager's flags.

Flag names, forms and defaults follow k8s.io/cloud-provider (``--leader-elect=false``,
``--controllers=*,-route``, ``--secure-port 10258``, ``--kube-api-qps 20``...). Every start-up
failure (a bad flag value, an unreadable kubeconfig or cloud config, an unknown provider or
provider option, a port in use) is one line naming what is wrong and a non-zero exit; an API
server that does not answer yet is retried, one line per attempt.

Credentials stay off the command line (``/proc/PID/cmdline`` is world-readable): kubeconfigs and
cloud configs are files, AWS uses its standard chain (environment, profile, web identity,
instance profile); a secret passed with ``--provider-option`` still works but is warned about.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence

import kubernetes.client

from ccm.controllers import selection
from ccm.kube.flags import add_bool, add_logging, add_version, parse_duration

log = logging.getLogger(__name__)

#: provider options that hold credentials (warned about on the command line, redacted from logs)
SECRET_OPTION_WORDS = ("secret", "token", "password", "access-key", "key-id", "client-key")

__all__ = ["add_arguments", "main", "parse_duration", "provider_options", "run"]


def _is_secret(option: str) -> bool:
    """Case-insensitive: cloud configs spell keys their own way (Azure's ``aadClientSecret``)."""
    return any(word in option.lower() for word in SECRET_OPTION_WORDS)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"invalid --provider-option {text!r}: expected key=value")
    return key.strip(), value.strip()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ccm.controllers import serving

    add_version(p)
    p.add_argument("--kubeconfig", help="kubeconfig file; in-cluster config when omitted")
    p.add_argument("--cloud-provider", required=True, help="fake, local, aws, gcp, azure or openstack")
    p.add_argument("--cloud-config", help="the provider's config file, read with its upstream format "
                                          "(AWS: cloud.conf [Global], GCP: gce.conf [global]: an unknown key "
                                          "is an error; Azure: azure.json: an unknown key is a warning; OpenStack: "
                                          "cloud.conf [Global], [LoadBalancer]: an unknown key is an error)")
    p.add_argument("--cluster-name", default="kubernetes", help="the cluster's name, tagged on what ccm creates")
    p.add_argument("--controllers", action="append", default=None, metavar="LIST",
                   help="'*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', "
                        "'-foo' disables it; known: " + ", ".join(sorted(selection.ALIASES.values())) +
                        " (default *)")
    p.add_argument("--concurrent-service-syncs", type=_positive_int, default=1,
                   help="the number of services that are allowed to sync concurrently (default 1)")
    p.add_argument("--concurrent-node-syncs", type=_positive_int, default=1,
                   help="the number of workers initialising nodes (default 1)")
    p.add_argument("--concurrent-node-status-updates", type=_positive_int, default=0,
                   help="workers of the periodic node address refresh; 0 means --concurrent-node-syncs")
    p.add_argument("--node-monitor-period", type=parse_duration, default=5.0,
                   help="the period for syncing NodeStatus in cloud-node-lifecycle-controller (default 5s)")
    p.add_argument("--node-status-update-frequency", type=parse_duration, default=300.0,
                   help="how often the cloud-node controller refreshes node addresses (default 5m)")
    add_bool(p, "--leader-elect", default=True, help="run leader election (for HA replicas)")
    p.add_argument("--leader-elect-lease-duration", type=parse_duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=parse_duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=parse_duration, default=2.0)
    p.add_argument("--leader-elect-resource-lock", default="leases", help="the lock type: leases (the only one)")
    p.add_argument("--leader-elect-resource-namespace", default="kube-system")
    p.add_argument("--leader-elect-resource-name", default="cloud-controller-manager")
    p.add_argument("--kube-api-qps", type=float, default=20.0, help="requests per second to the API (default 20)")
    p.add_argument("--kube-api-burst", type=int, default=30, help="burst of requests to the API (default 30)")
    serving.add_arguments(p)
    p.add_argument("--load-balancer-class", default=None,
                   help="also own LoadBalancer Services with this spec.loadBalancerClass")
    add_bool(p, "--ignore-unclassed", default=False,
             help="leave Services without a loadBalancerClass to another controller")
    p.add_argument("--resync-period", type=parse_duration, default=None,
                   help="re-ensure every owned Service this often (repairs out-of-band cloud changes)")
    p.add_argument("--gc-period", type=parse_duration, default=3600.0,
                   help="how often the orphan sweep lists the cloud resources tagged for this cluster and reports "
                        "(or with --gc-delete deletes) those whose Service is gone; 0 disables it (default 1h)")
    add_bool(p, "--gc-delete", default=False,
             help="delete orphaned resources (after one more sweep period) instead of only reporting them")
    p.add_argument("--node-sync-period", type=parse_duration, default=None,
                   help="deprecated upstream and ignored: node sync is event-driven")
    p.add_argument("--aws-endpoint-url", default=None, help="AWS API endpoint (e.g. an emulator)")
    p.add_argument("--aws-region", default=None, help="AWS region (default: the boto3 chain, e.g. AWS_REGION)")
    p.add_argument("--provider-option", action="append", type=_key_value, default=[], metavar="K=V",
                   help="a provider option (an unknown one is an error); keep secrets out of it")
    p.add_argument("--gcp-endpoint-url", default=None,
                   help="Compute Engine API endpoint (e.g. an emulator; http:// uses anonymous credentials)")
    p.add_argument("--gcp-project", default=None, help="GCP project (default: gce.conf project-id)")
    p.add_argument("--gcp-region", default=None, help="GCP region (default: the region of gce.conf local-zone)")
    p.add_argument("--azure-endpoint-url", default=None,
                   help="Azure Resource Manager endpoint (e.g. an emulator; default https://management.azure.com)")
    p.add_argument("--azure-ca-file", default=None, help="CA bundle (PEM) to verify --azure-endpoint-url with")
    add_logging(p)


def provider_options(args: argparse.Namespace) -> dict[str, str]:
    """The cloud config (the provider's own format), then the per-cloud flags, then --provider-option."""
    from providers.cloudconfig import load_cloud_config

    options = load_cloud_config(args.cloud_provider, args.cloud_config) if args.cloud_config else {}
    if args.aws_endpoint_url:
        options["aws-endpoint-url"] = args.aws_endpoint_url
    if args.aws_region:
        options["aws-region"] = args.aws_region
    for flag in ("gcp_endpoint_url", "gcp_project", "gcp_region", "azure_endpoint_url", "azure_ca_file"):
        if getattr(args, flag):
            options[flag.replace("_", "-")] = getattr(args, flag)
    for key, value in args.provider_option:
        if _is_secret(key):
            log.warning("--provider-option %s is visible to every user in the process list; put credentials in "
                        "the provider's standard places (for AWS: the environment, a profile, IRSA) instead", key)
        options[key] = value
    return options


def _validate(args: argparse.Namespace) -> tuple[str, ...]:
    if args.leader_elect_resource_lock != "leases":
        raise ValueError(f"--leader-elect-resource-lock {args.leader_elect_resource_lock!r}: only leases is "
                         "supported")
    if args.leader_elect and args.leader_elect_lease_duration <= args.leader_elect_renew_deadline:
        raise ValueError("--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline")
    if args.kube_api_qps <= 0 or args.kube_api_burst <= 0:
        raise ValueError("--kube-api-qps and --kube-api-burst must be positive")
    return selection.normalize(selection.split(args.controllers or list(selection.DEFAULT)))


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def concise(text: str) -> str:
    """The innermost reason of a urllib3 error chain (``Connection refused``), else its first line, short."""
    found = _ERRNO_TEXT.findall(text)
    if found:
        return found[-1].strip()
    return (text.splitlines() or [""])[0][:160]


def wait_for_api(api_client: kubernetes.client.ApiClient, stop: threading.Event) -> bool:
    """Retry ``GET /version`` until the API server answers; one concise line per failed attempt.

    Uses its own client without urllib3's retries, so an attempt is one line, not four. False when stopped.
    """
    from ccm.kube.client import ApiError, RawClient

    config = copy.deepcopy(api_client.configuration)
    config.retries = 0
    probe = kubernetes.client.ApiClient(config)
    raw = RawClient(probe, timeout=5.0)
    delay, attempt = 1.0, 0
    try:
        while not stop.is_set():
            attempt += 1
            try:
                raw.get("/version")
                return True
            except ApiError as exc:
                if exc.status and exc.status < 500 and exc.status != 429:
                    return True  # it answers (a 401/403 too: the controllers will report what is wrong)
                log.error("API server %s not reachable (attempt %d, next in %.0fs): %s", config.host, attempt,
                          delay, concise(exc.message or exc.reason))
            stop.wait(delay)
            delay = min(delay * 2, 30.0)
        return False
    finally:
        probe.close()


def run(args: argparse.Namespace) -> int:
    from ccm.kube.logging import register_secret, setup_from_args

    setup_from_args(args.verbosity, args.logging_format)
    try:
        controllers = _validate(args)
        options = provider_options(args)
    except (OSError, ValueError) as exc:
        log.error("%s", exc)
        return 1
    register_secret(*(v for k, v in options.items() if _is_secret(k)))
    try:
        return _start(args, controllers, options)
    except Exception as exc:  # last resort: still one line, the traceback only at -v 4
        log.debug("start-up failed", exc_info=True)
        log.error("cannot start: %s: %s", type(exc).__name__, exc)
        return 1


def _start(args: argparse.Namespace, controllers: tuple[str, ...], options: dict[str, str]) -> int:
    from ccm.controllers import serving as serving_mod
    from ccm.controllers.manager import ControllerManager, ControllerOptions
    from ccm.kube.client import load_api_client
    from ccm.kube.restmetrics import instrument
    from providers.port import ProviderContext
    from providers.registry import create_provider

    stop = threading.Event()
    try:
        api_client = instrument(load_api_client(args.kubeconfig), args.kube_api_qps, args.kube_api_burst)
    except Exception as exc:  # the kubernetes config loader raises its own exception types
        where = args.kubeconfig or "(in-cluster config / $KUBECONFIG)"
        log.error("cannot load the kubeconfig %s: %s", where, str(exc).splitlines()[0] if str(exc) else exc)
        return 1
    try:
        cloud = create_provider(args.cloud_provider, ProviderContext(args.cluster_name, options))
    except Exception as exc:
        log.error("cannot create cloud provider %r: %s", args.cloud_provider, exc)
        return 1
    try:
        serving = serving_mod.build(args)
    except (OSError, ValueError) as exc:
        log.error("%s", exc)
        cloud.close()
        return 1
    opts = ControllerOptions(
        cluster_name=args.cluster_name, controllers=controllers,
        concurrent_service_syncs=args.concurrent_service_syncs, concurrent_node_syncs=args.concurrent_node_syncs,
        concurrent_node_status_updates=args.concurrent_node_status_updates,
        node_monitor_period=args.node_monitor_period, node_status_update_frequency=args.node_status_update_frequency,
        load_balancer_class=args.load_balancer_class, ignore_unclassed=args.ignore_unclassed,
        resync_period=args.resync_period or None, gc_period=args.gc_period, gc_delete=args.gc_delete,
        leader_elect=args.leader_elect,
        leader_elect_namespace=args.leader_elect_resource_namespace,
        leader_elect_name=args.leader_elect_resource_name,
        lease_duration=args.leader_elect_lease_duration, renew_deadline=args.leader_elect_renew_deadline,
        retry_period=args.leader_elect_retry_period,
    )
    try:
        manager = ControllerManager(api_client, cloud, opts, serving=serving)
    except Exception as exc:
        log.error("cannot start the controllers: %s", exc)
        cloud.close()
        return 1
    try:
        manager.start_serving()
    except OSError as exc:
        assert serving is not None
        log.error("cannot serve on %s:%d (--bind-address/--secure-port): %s", serving.bind_address, serving.port,
                  exc.strerror or exc)
        cloud.close()
        return 1
    if manager.health is not None:
        log.info("serving %s/metrics (authenticated: a bearer token allowed to get /metrics), /healthz, /readyz",
                 manager.health.url)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if not wait_for_api(api_client, stop):
        manager.stop()
        cloud.close()
        return 0
    manager.start()
    stop.wait()
    log.info("shutting down")
    started = time.monotonic()
    manager.stop()
    cloud.close()
    log.info("stopped in %.1fs", time.monotonic() - started)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ccm controller")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
