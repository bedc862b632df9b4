"""``ccm plan``: print what ccm would build for Services (offline) or the next reconcile's diff (``--live``).

Offline (the default) needs no credentials and makes no cloud call: the provider is built with
``ProviderContext.offline`` and asked for ``plan_offline``. ``--live`` builds it as the controller
does (the same per-cloud flags) and asks for ``plan_live``, which makes read-only calls only.
Exit status: 0 when every Service could be planned, 1 when one is refused (the controller's
Warning events are printed), 2 when the command cannot run (bad flags, files or provider).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ccm.controllers import cli as controller_cli
from ccm.controllers.service.predicates import ClassFilter
from ccm.plan import render
from ccm.plan.core import Planning, ServicePlan, plan_service
from ccm.plan.inputs import InputError, Obj, default_nodes, of_kind, read_documents, with_cluster_fields

log = logging.getLogger(__name__)

#: the controller's flags that configure a cloud, shared so `ccm plan --live` reaches it the same way
_CLOUD_FLAG_PREFIXES = ("--aws-", "--gcp-", "--azure-", "--openstack-")
_CLOUD_FLAG_DESTS = frozenset({"cloud_config", "provider_option"})


def _add_cloud_flags(parser: argparse.ArgumentParser) -> None:
    """The per-cloud flags of ``ccm controller`` (endpoints, regions, projects, --cloud-config,
    --provider-option), taken from its parser so a flag added there for a new cloud is here too."""
    template = argparse.ArgumentParser(add_help=False)
    controller_cli.add_arguments(template)
    for action in template._actions:
        if action.dest in _CLOUD_FLAG_DESTS or any(o.startswith(_CLOUD_FLAG_PREFIXES) for o in action.option_strings):
            parser._add_action(action)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], metavar="FILE",
                   help="YAML with Services (and optionally Nodes); repeatable; - reads standard input")
    # dest as ccm controller's, so its provider_options (--cloud-config read per provider) serves both
    p.add_argument("--provider", "--cloud-provider", dest="cloud_provider", required=True,
                   help="the --cloud-provider to plan for (aws, local, ...)")
    p.add_argument("--cluster-name", default="kubernetes", help="as ccm controller --cluster-name")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument("--nodes", metavar="FILE",
                   help="YAML with the Nodes to plan with (default: Nodes in -f, the cluster with --live "
                        "--kubeconfig, else a small default set)")
    p.add_argument("--live", action="store_true",
                   help="observe the cloud (read-only calls) and print what the next reconcile would send")
    p.add_argument("--kubeconfig", help="with --live: the cluster whose Services (without -f) and Nodes are used")
    p.add_argument("-n", "--namespace", help="with --live and no -f: only this namespace's Services")
    p.add_argument("--load-balancer-class", default=None, help="as ccm controller --load-balancer-class")
    p.add_argument("--ignore-unclassed", action="store_true", help="as ccm controller --ignore-unclassed")
    _add_cloud_flags(p)


class _UsageError(Exception):
    pass


def _cluster_objects(kubeconfig: str, namespace: str | None, want_services: bool) -> tuple[list[Obj], list[Obj]]:
    """(Services, Nodes) of the cluster, read once."""
    from ccm.kube.client import RawClient, load_api_client
    from ccm.kube.resources import NODES, SERVICES

    client = RawClient(load_api_client(kubeconfig))
    services: list[Obj] = []
    if want_services:
        services = list(client.list(SERVICES.collection_path(namespace)).get("items") or ())
    nodes = list(client.list(NODES.collection_path()).get("items") or ())
    return services, nodes


def _key(svc: Mapping[str, Any]) -> str:
    meta = svc.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def _inputs(args: argparse.Namespace) -> tuple[list[Obj], list[Obj]]:
    """The Services to plan and the Nodes to plan them with."""
    if not args.filename and not (args.live and args.kubeconfig):
        raise _UsageError("give -f FILE, or --live with --kubeconfig to plan every Service of a cluster")
    if args.live and not (args.kubeconfig or args.nodes):
        raise _UsageError("--live needs the cluster's nodes: --kubeconfig or --nodes FILE")
    from_files = [obj for path in args.filename for obj in read_documents(path)]
    services, nodes = of_kind(from_files, "Service"), of_kind(from_files, "Node")
    if args.filename and not services:
        raise _UsageError(f"no Service in {', '.join(args.filename)}")
    cluster_services: list[Obj] = []
    cluster_nodes: list[Obj] = []
    if args.live and args.kubeconfig:
        cluster_services, cluster_nodes = _cluster_objects(args.kubeconfig, args.namespace, True)
        # a file's Service is compared as it would be stored: uid, node ports, status from the cluster
        stored = {_key(s): s for s in cluster_services}
        services = [with_cluster_fields(s, stored[_key(s)]) if _key(s) in stored else s for s in services]
    if args.nodes:
        nodes = of_kind(read_documents(args.nodes), "Node")
    elif not nodes:
        nodes = cluster_nodes if args.live and args.kubeconfig else default_nodes(args.cloud_provider)
    return services if args.filename else cluster_services, nodes


def make_plans(ctx: Planning, services: Sequence[Mapping[str, Any]], nodes: Sequence[Mapping[str, Any]],
               ) -> tuple[list[ServicePlan], list[str]]:
    """Every Service's plan, and the errors of those that could not be planned (a cloud error)."""
    plans, errors = [], []
    for svc in sorted(services, key=_key):
        try:
            plans.append(plan_service(ctx, svc, nodes))
        except Exception as exc:
            errors.append(f"{_key(svc)}: cannot plan: {exc}")
    return plans, errors


def run(args: argparse.Namespace) -> int:
    from providers.port import ProviderContext
    from providers.registry import create_provider

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        services, nodes = _inputs(args)
    except (_UsageError, InputError) as exc:
        print(f"ccm plan: {exc}", file=sys.stderr)
        return 2
    try:
        context = ProviderContext(args.cluster_name, controller_cli.provider_options(args), offline=not args.live)
        cloud = create_provider(args.cloud_provider, context)
    except Exception as exc:
        print(f"ccm plan: cannot create the {args.cloud_provider} provider: {exc}", file=sys.stderr)
        return 2
    try:
        planner = cloud.planner()
        if planner is None:
            print(f"ccm plan: the {args.cloud_provider} provider cannot plan (it has no planning capability)",
                  file=sys.stderr)
            return 2
        ctx = Planning(cloud, planner, args.cluster_name,
                       ClassFilter(args.load_balancer_class, args.ignore_unclassed), live=args.live)
        plans, errors = make_plans(ctx, services, nodes)
    finally:
        cloud.close()
    write = render.as_json if args.output == "json" else render.text
    sys.stdout.write(write(plans, args.cloud_provider, args.live))
    for e in errors:
        print(f"ccm plan: {e}", file=sys.stderr)
    return 1 if errors or any(p.failed for p in plans) else 0
