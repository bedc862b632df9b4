"""``ccm demo --provider aws``: the AWS provider against moto, an AWS API emulator, in this process.

moto runs in server mode on an ephemeral loopback port, so the provider talks to it over real
HTTP exactly as it would talk to AWS, and so can the user (aws CLI, boto3). The demo builds a
small EC2 world in it (a VPC, two role-tagged public subnets in two zones, one instance per Node,
a node security group), registers the instances as Nodes, runs the controller with the AWS
provider and applies the Classic ELB and NLB examples. No traffic flows: moto only answers the
API. On SIGINT/SIGTERM the Services are deleted first, so the controller removes their load
balancers, then everything stops.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from ccm.annotations import aws as aws_annotations
from ccm.demo import Printer, serve
from ccm.demo.cluster import LocalCluster, load_example, node_object
from ccm.kube.resources import EVENTS, NODES
from providers.aws.names import ROLE_ELB_TAG, cluster_tag
from providers.port import CloudProvider, ProviderContext
from providers.registry import create_provider

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

log = logging.getLogger(__name__)

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b")
#: one of the images moto ships with
IMAGE_ID = "ami-12c6146b"
#: moto accepts any credentials; boto3 (and the aws CLI) only need some to sign requests
DUMMY_KEY = "testing"
SERVICE_FILES = ("aws-clb-service.yaml", "aws-nlb-service.yaml")
CLASSIC, NLB = "Classic ELB", "NLB"
IDLE_TIMEOUT_ANNOTATION = aws_annotations.CONNECTION_IDLE_TIMEOUT.key
INSTALL_HINT = ("ccm demo --provider aws needs moto[server], an AWS API emulator, which ccm installs only "
                "with its test extra:\n  python3 run.py demo --provider aws    (sets up .venv with it)\n"
                "  or: pip install 'moto[server]==5.2.5'")


class MotoMissing(RuntimeError):
    """moto (with its server extra) is not importable; the message says how to install it."""


class Moto:
    """moto's ThreadedMotoServer on 127.0.0.1 and a free port; :meth:`stop` also closes the socket."""

    def __init__(self) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as e:
            raise MotoMissing(f"{INSTALL_HINT}\n  ({e})") from None
        self._server: ThreadedMotoServer = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._started = False
        self.url = ""

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
        self._server.start()
        self._started = True
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def client(self, service: str) -> Any:
        """A client for arranging and reading the world (never the controller's)."""
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,  # type: ignore[call-overload]
                            aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._server.stop()
        # ThreadedMotoServer.stop ends serve_forever but leaves the socket listening
        inner = getattr(self._server, "_server", None)
        if inner is not None:
            inner.server_close()


# -- the EC2 side of the cluster -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Instance:
    id: str
    zone: str
    private_ip: str
    private_dns: str

    @property
    def provider_id(self) -> str:
        return f"aws:///{self.zone}/{self.id}"

    @property
    def node_name(self) -> str:
        """The private DNS name, as a kubelet on EC2 registers (``ip-10-0-0-4.ec2.internal``)."""
        return self.private_dns or self.id


@dataclasses.dataclass(frozen=True)
class AwsWorld:
    vpc_id: str
    subnets: tuple[str, ...]
    node_group: str
    instances: tuple[Instance, ...]


def _tags(resource: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def build_world(ec2: Any, cluster_name: str, nodes: int) -> AwsWorld:
    """What cloud-provider-aws expects to find: role- and cluster-tagged subnets, tagged node group."""
    owned = {cluster_tag(cluster_name): "owned"}
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags(
        "vpc", {"Name": cluster_name, **owned}))["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    routes = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=routes, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    subnets = []
    for i, zone in enumerate(ZONES):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone,
                                   TagSpecifications=_tags("subnet", {
                                       "Name": f"{cluster_name}-public-{zone[-1]}", ROLE_ELB_TAG: "1",
                                       **owned}))["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=routes, SubnetId=subnet)
        subnets.append(subnet)
    group = ec2.create_security_group(
        GroupName=f"{cluster_name}-nodes", Description=f"nodes of {cluster_name}", VpcId=vpc,
        TagSpecifications=_tags("security-group", owned))["GroupId"]
    instances = []
    for n in range(nodes):
        found = ec2.run_instances(ImageId=IMAGE_ID, MinCount=1, MaxCount=1, InstanceType="t3.medium",
                                  SubnetId=subnets[n % len(subnets)], SecurityGroupIds=[group],
                                  TagSpecifications=_tags("instance", {"Name": f"{cluster_name}-node-{n + 1}",
                                                                       **owned}))["Instances"][0]
        instances.append(Instance(found["InstanceId"], found["Placement"]["AvailabilityZone"],
                                  found.get("PrivateIpAddress", ""), found.get("PrivateDnsName", "")))
    return AwsWorld(vpc, tuple(subnets), group, tuple(instances))


def aws_node(instance: Instance) -> dict[str, Any]:
    node = node_object(instance.node_name, instance.private_ip, provider_id=instance.provider_id,
                       ready_message="EC2 instance in moto (ccm demo --provider aws)")
    node["metadata"]["labels"]["topology.kubernetes.io/zone"] = instance.zone
    node["metadata"]["labels"]["topology.kubernetes.io/region"] = REGION
    if instance.private_dns:
        node["status"]["addresses"].append({"type": "InternalDNS", "address": instance.private_dns})
    return node


# -- the controller's cloud ----------------------------------------------------------------------


def aws_cloud(cluster_name: str, endpoint: str) -> CloudProvider:
    """The AWS provider pointed at moto, with dummy static credentials (never the user's own)."""
    return create_provider("aws", ProviderContext(cluster_name, {
        "aws-endpoint-url": endpoint, "aws-region": REGION, "aws-max-attempts": "3",
        "aws-access-key-id": DUMMY_KEY, "aws-secret-access-key": DUMMY_KEY}))


# -- reading moto back ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FoundLoadBalancer:
    kind: str  # CLASSIC or NLB (another ELBv2 type by its name)
    name: str
    dns_name: str


def load_balancers(moto: Moto) -> list[FoundLoadBalancer]:
    """Every Classic ELB and ELBv2 load balancer in moto's region."""
    found = [FoundLoadBalancer(CLASSIC, d["LoadBalancerName"], d.get("DNSName", ""))
             for d in moto.client("elb").describe_load_balancers()["LoadBalancerDescriptions"]]
    found += [FoundLoadBalancer(NLB if d.get("Type") == "network" else str(d.get("Type")),
                                d["LoadBalancerName"], d.get("DNSName", ""))
              for d in moto.client("elbv2").describe_load_balancers()["LoadBalancers"]]
    return found


def _warnings(cluster: LocalCluster, namespace: str, name: str) -> list[str]:
    try:
        events = cluster.raw.list(EVENTS.collection_path(namespace),
                                  {"fieldSelector": f"involvedObject.name={name}"})["items"]
    except Exception:
        log.debug("%s/%s: events not readable", namespace, name, exc_info=True)
        return []
    return [f"{e.get('reason')}: {e.get('message')}" for e in events if e.get("type") == "Warning"]


def wait_for_hostname(cluster: LocalCluster, namespace: str, name: str, timeout: float) -> str:
    """The Service's ingress hostname; on timeout the error carries its Warning events (the reason why)."""
    try:
        return cluster.wait_for_ingress(namespace, name, timeout, field="hostname")
    except TimeoutError as e:
        warnings = _warnings(cluster, namespace, name)
        raise TimeoutError(f"{e}" + "".join(f"\n  Warning {w}" for w in warnings)) from None


# -- the demo ------------------------------------------------------------------------------------


def _instructions(p: Printer, *, endpoint: str, kubeconfig: Path,
                  ready: Sequence[tuple[FoundLoadBalancer, str, str]]) -> str:
    """``ready``: (load balancer, its Service's namespace/name, the Service's ingress hostname)."""
    clb_name, clb_service = next(((lb.name, svc) for lb, svc, _ in ready if lb.kind == CLASSIC),
                                 ("<name>", "<service>"))
    nlb_service = next((svc for lb, svc, _ in ready if lb.kind == NLB), "<service>")
    aws = f"aws --endpoint-url {endpoint}"
    one_liner = (f"{sys.executable} -c \"import boto3; print(boto3.client('elb', endpoint_url='{endpoint}', "
                 f"region_name='{REGION}', aws_access_key_id='{DUMMY_KEY}', "
                 f"aws_secret_access_key='{DUMMY_KEY}')"
                 ".describe_load_balancers()['LoadBalancerDescriptions'])\"")
    lines = ["", p.green(p.bold("ccm demo (AWS, in moto) is running.")), ""]
    lines += [f"  {lb.kind:<12} {service}: {p.bold(hostname)}" for lb, service, hostname in ready]
    return "\n".join([
        *lines,
        "",
        f"  moto endpoint: {endpoint}",
        "  moto is an AWS API emulator: the load balancers exist in its API exactly as the controller",
        "  built them, but no traffic flows and the hostnames do not resolve.",
        "",
        f"    export KUBECONFIG={kubeconfig}",
        "    kubectl get svc -o wide",
        "",
        "  Look at them through the AWS API (the aws CLI is not installed by ccm; any credentials work):",
        f"    export AWS_ACCESS_KEY_ID={DUMMY_KEY} AWS_SECRET_ACCESS_KEY={DUMMY_KEY} "
        f"AWS_DEFAULT_REGION={REGION}",
        f"    {aws} elb describe-load-balancers",
        f"    {aws} elbv2 describe-load-balancers",
        "  or with boto3 (installed with ccm):",
        f"    {one_liner}",
        "",
        "  Try:",
        f"    kubectl annotate svc -n {clb_service.replace('/', ' ')} {IDLE_TIMEOUT_ANNOTATION}=120",
        f"    {aws} elb describe-load-balancer-attributes --load-balancer-name {clb_name}"
        "   # IdleTimeout 60 -> 120",
        f"    kubectl delete svc -n {nlb_service.replace('/', ' ')}",
        f"    {aws} elbv2 describe-load-balancers   # the NLB is gone",
        "",
        "  Ctrl-C deletes the Services (the controller removes their load balancers) and stops everything.",
        "",
    ])


def _delete_services(p: Printer, cluster: LocalCluster, moto: Moto,
                     services: Sequence[tuple[str, str]]) -> None:
    """Delete through Kubernetes, so the controller removes the load balancers; say what moto still holds."""
    for ns, name in services:
        try:
            if cluster.delete_service(ns, name):
                p.step(f"deleted Service {ns}/{name}; the controller removed its load balancer")
            else:
                p.step(f"Service {ns}/{name} was already deleted")
        except Exception as e:
            print(f"ccm demo: {ns}/{name}: {e}", file=sys.stderr, flush=True)
    try:
        left = load_balancers(moto)
    except Exception as e:
        print(f"ccm demo: cannot list the load balancers left in moto: {e}", file=sys.stderr, flush=True)
        return
    p.step(f"moto holds {len(left)} load balancers"
           + "".join(f"\n    left: {lb.kind} {lb.name}" for lb in left))


def run_aws(args: argparse.Namespace, p: Printer) -> int:
    try:
        moto = Moto()
    except MotoMissing as e:
        print(f"ccm demo: {e}", file=sys.stderr, flush=True)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ccm-demo-aws-"))
    cluster = LocalCluster(workdir, progress=p.step)
    services: list[tuple[str, str]] = []  # (namespace, name) created so far, deleted on the way out

    def start() -> None:
        moto.start()
        p.step(f"moto (AWS API emulator) up at {moto.url}")
        world = build_world(moto.client("ec2"), cluster.cluster_name, args.nodes)
        p.step(f"AWS world in {REGION}: VPC {world.vpc_id}, public subnets {', '.join(world.subnets)} in "
               f"{', '.join(ZONES)}, node security group {world.node_group}")
        cluster.start_apiserver()
        for instance in world.instances:
            cluster.raw.create(NODES.collection_path(), aws_node(instance))
            p.step(f"node {instance.node_name} registered ({instance.provider_id}, {instance.private_ip})")
        cluster.start_controller(aws_cloud(cluster.cluster_name, moto.url),
                                 f"endpoint {moto.url}, region {REGION}")
        manifests = [load_example(f) for f in SERVICE_FILES]
        for file, manifest in zip(SERVICE_FILES, manifests, strict=True):
            meta = cluster.create_service(manifest)["metadata"]
            services.append((meta["namespace"], meta["name"]))
            p.step(f"created Service {meta['namespace']}/{meta['name']} from examples/{file}")
        p.step("waiting for the controller to build the load balancers in moto")
        hostnames = [wait_for_hostname(cluster, ns, name, 60) for ns, name in services]
        by_dns = {lb.dns_name: lb for lb in load_balancers(moto)}
        ready: list[tuple[FoundLoadBalancer, str, str]] = []
        for (ns, name), hostname in zip(services, hostnames, strict=True):
            if hostname not in by_dns:
                raise RuntimeError(f"{ns}/{name}: no load balancer with DNS name {hostname} in moto")
            ready.append((by_dns[hostname], f"{ns}/{name}", hostname))
        print(_instructions(p, endpoint=moto.url, kubeconfig=cluster.kubeconfig, ready=ready), flush=True)

    def stop() -> None:
        try:
            if cluster.manager is not None and services:
                _delete_services(p, cluster, moto, services)
        finally:
            try:
                cluster.stop()
            finally:
                moto.stop()
                shutil.rmtree(workdir, ignore_errors=True)

    code = serve(p, start, stop)
    p.step(f"stopped: controller, API server and moto are gone; removed {workdir}")
    return code
