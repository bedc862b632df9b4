"""``ccm demo``: a whole cluster with a working LoadBalancer Service on this machine.

Starts the embedded API server, three nodes with node proxies on loopback addresses,
the service controller with the ``local`` cloud, a few HTTP/UDP backends and the
Service in ``examples/hello-service.yaml``; prints the load balancer's URL and a
kubeconfig line, runs until SIGINT/SIGTERM, then stops everything and removes its
temp directory.

``ccm demo --provider aws`` runs the AWS provider against moto instead (``ccm.demo.aws``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from ccm.demo.cluster import Layout, LocalCluster, StartError, load_example
from ccm.kube.flags import add_logging
from ccm.kube.logging import setup_from_args

log = logging.getLogger(__name__)

SERVICE_FILE = "hello-service.yaml"
#: ``--provider`` values other than local: the module and function running that cloud's demo against
#: an emulator in this process (imported only when chosen)
CLOUD_DEMOS = {
    "aws": "ccm.demo.aws:run_aws",
    "gcp": "ccm.demo.gcp:run_gcp",
    "azure": "ccm.demo.azure:run_azure",
    "openstack": "ccm.demo.openstack:run_openstack",
}
SVC_COLUMNS = ("NAME:.metadata.name,VIP:.status.loadBalancer.ingress[0].ip,"
               "MODE:.status.loadBalancer.ingress[0].ipMode,PORTS:.status.loadBalancer.ingress[0].ports[*].port")
SLICE_COLUMNS = ("BACKEND:.endpoints[*].targetRef.name,NODE:.endpoints[*].nodeName,"
                 "READY:.endpoints[*].conditions.ready")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=("local", *CLOUD_DEMOS), default="local",
                   help="local (default): real load balancers on loopback with node proxies and backends; "
                        "aws: Classic ELB and NLB in moto, an in-process AWS API emulator (no traffic flows); "
                        "gcp, azure, openstack: the same against ccm's own emulators of those clouds")
    p.add_argument("--port-base", type=int, default=8080,
                   help="the Service's port, also the backends' port (default 8080; no privileges needed; "
                        "local only)")
    p.add_argument("--backends", type=int, default=3, metavar="N",
                   help="how many backends to run (default 3; local only)")
    p.add_argument("--nodes", type=int, default=3, metavar="N",
                   help="how many nodes (default 3, at most 254); with --provider aws, EC2 instances")
    p.add_argument("--prefix", default="127.0",
                   help="first two octets of every address (default 127.0: nodes 127.0.1.x, VIPs 127.0.2.x, "
                        "backends 127.0.3.x; local only)")
    p.add_argument("--node-health-port", type=int, default=10256,
                   help="port of each node proxy's /healthz (default 10256, as kube-proxy; local only)")
    p.add_argument("--no-color", action="store_true", help="plain output")
    add_logging(p, default_v=0)


class Printer:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def step(self, msg: str) -> None:
        print(f"{self._paint('2', '[demo]')} {msg}", flush=True)

    def bold(self, text: str) -> str:
        return self._paint("1", text)

    def green(self, text: str) -> str:
        return self._paint("32", text)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_cloud_demo(p: Printer, cluster: LocalCluster, services: Sequence[tuple[str, str]], *,
                    left: Callable[[], str], stop_emulator: Callable[[], None], workdir: Path,
                    gone: str = "the controller removed its load balancer") -> None:
    """The end of an emulator demo: delete the Services through Kubernetes (so the controller removes
    their load balancers; ``gone`` says what went), say what the emulator still holds (``left()``),
    stop everything."""
    try:
        if cluster.manager is not None and services:
            for ns, name in services:
                try:
                    if cluster.delete_service(ns, name):
                        p.step(f"deleted Service {ns}/{name}; {gone}")
                    else:
                        p.step(f"Service {ns}/{name} was already deleted")
                except Exception as e:
                    print(f"ccm demo: {ns}/{name}: {e}", file=sys.stderr, flush=True)
            try:
                p.step(left())
            except Exception as e:
                print(f"ccm demo: cannot list what the emulator still holds: {e}", file=sys.stderr, flush=True)
    finally:
        try:
            cluster.stop()
        finally:
            stop_emulator()
            shutil.rmtree(workdir, ignore_errors=True)


def serve(p: Printer, start: Callable[[], None], stop: Callable[[], None]) -> int:
    """Run ``start``, then wait for SIGINT/SIGTERM; ``stop`` always runs, and no signal cuts it short.

    Returns the exit code: 0 after a signal, 1 when ``start`` failed (the reason goes to stderr).
    """
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        start()
        forever = threading.Event()
        while not forever.wait(3600):
            pass
    except KeyboardInterrupt:
        print("", flush=True)
        p.step("stopping")
    except Exception as e:
        log.debug("demo failed", exc_info=True)
        text = str(e) if isinstance(e, StartError) else f"{type(e).__name__}: {e}"
        print(f"ccm demo: {text}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        try:
            stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return code


def _wait_http(url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode(errors="replace").strip()
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({e})") from None
        time.sleep(0.1)


def _instructions(p: Printer, *, url: str, vip: str, port: int, kubeconfig: Path, slice_name: str,
                  metrics: list[str]) -> str:
    patch = ('[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]')
    return "\n".join([
        "",
        p.green(p.bold("ccm demo is running.")),
        "",
        f"  Load balancer: {p.bold(url)}",
        "",
        "  Try:",
        f"    curl {url}                 # each reply names the backend and the node that served it",
        f"    echo hi | nc -u -w1 {vip} {port}     # the same Service port over UDP",
        "",
        f"    export KUBECONFIG={kubeconfig}",
        f"    kubectl get svc hello -w -o custom-columns={SVC_COLUMNS}",
        f"    kubectl get endpointslice {slice_name} -o custom-columns={SLICE_COLUMNS}",
        "",
        "  Take backend-1 out of service: its node then fails the Service's health check",
        "  (externalTrafficPolicy Local) and the load balancer stops sending there:",
        f"    kubectl patch endpointslice {slice_name} --type=json -p '{patch}'",
        "",
        *metrics,
        "",
        "  Ctrl-C stops everything.",
        "",
    ])


def run(args: argparse.Namespace) -> int:
    setup_from_args(args.verbosity, args.logging_format, stream=sys.stderr)  # stdout is the demo's own
    p = Printer(color=not args.no_color and sys.stdout.isatty())
    if not 1 <= args.nodes <= 254 or not 1 <= args.backends <= 254:
        print("ccm demo: --nodes and --backends must be between 1 and 254", file=sys.stderr)
        return 2
    if args.provider in CLOUD_DEMOS:
        module, _, func = CLOUD_DEMOS[args.provider].partition(":")
        return int(getattr(importlib.import_module(module), func)(args, p))
    if not (1 <= args.port_base <= 65535 and 1 <= args.node_health_port <= 65535):
        print("ccm demo: --port-base and --node-health-port must be ports (1-65535)", file=sys.stderr)
        return 2
    layout = Layout(prefix=args.prefix, node_health_port=args.node_health_port)
    try:
        layout.check()
    except ValueError as e:
        print(f"ccm demo: {e}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ccm-demo-"))
    cluster = LocalCluster(workdir, layout, progress=p.step)

    def start() -> None:
        cluster.start_apiserver()
        nodes = [cluster.add_node(i) for i in range(1, args.nodes + 1)]
        specs = cluster.start_backends(args.backends, args.port_base, nodes)
        cluster.start_controller()
        service = load_example(SERVICE_FILE)
        for port in service["spec"]["ports"]:
            port["port"] = port["targetPort"] = args.port_base
        meta = service["metadata"]
        created = cluster.create_service(service)
        slice_name = cluster.put_endpoints(created, specs)["metadata"]["name"]
        p.step(f"created Service {meta['namespace']}/{meta['name']} from examples/{SERVICE_FILE} and its "
               f"EndpointSlice {slice_name}; waiting for the controller to give it a VIP")
        vip = cluster.wait_for_ingress(meta["namespace"], meta["name"])
        url = f"http://{vip}:{args.port_base}/"
        p.step(f"VIP {vip} allocated; waiting for the node health checks to pass and {url} to answer")
        p.step(f"first answer: {_wait_http(url, 60)}")
        print(_instructions(p, url=url, vip=vip, port=args.port_base, kubeconfig=cluster.kubeconfig,
                           slice_name=slice_name, metrics=cluster.metrics_instructions()), flush=True)

    def stop() -> None:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    code = serve(p, start, stop)
    p.step("stopped: API server, node proxies, controller, load balancers and backends are gone; "
           f"removed {workdir}")
    return code
