"""moto in server mode over real HTTP, with server-side fault injection, and the AWS world a test needs.

One werkzeug server around moto's WSGI app runs for the whole session on 127.0.0.1; tests reset
it with ``POST /moto-api/reset``. The middleware can throttle chosen actions (a ``Throttling``
error, as AWS sends it) and can "crash" the caller after its k-th mutating call: every later
mutating request gets a non-retryable ``InjectedCrash`` error, as if the process had died there.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from werkzeug.serving import make_server

from tests.providers.aws import moto_patches

REGION = "us-east-1"
CLUSTER = "test"
ZONES = ("us-east-1a", "us-east-1b")
_READ_PREFIXES = ("Describe", "List", "Get")
#: SigV4 ``Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<date>/...``
_SIGNED_BY = re.compile(r"Credential=([^/,\s]+)/")


def _error(code: str, message: str) -> bytes:
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>fault</RequestId></ErrorResponse>").encode()


class Faults:
    """What the middleware does to the next requests; thread-safe, reset between tests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.throttle: dict[str, int] = {}  # action -> how many more requests to throttle
            self.crash_after: int | None = None  # mutating requests allowed before the "crash"
            self.mutating_seen = 0
            self.actions: list[str] = []
            self.access_keys: set[str] = set()  # the key ids requests were signed with

    def decide(self, action: str) -> bytes | None:
        with self.lock:
            self.actions.append(action)
            if self.throttle.get(action, 0) > 0:
                self.throttle[action] -= 1
                return _error("Throttling", "Rate exceeded")
            if action and not action.startswith(_READ_PREFIXES) and self.crash_after is not None:
                if self.mutating_seen >= self.crash_after:
                    return _error("InjectedCrash", "the process died before this call")
                self.mutating_seen += 1
        return None


class MotoServer:
    def __init__(self, middleware: Callable[[Any], Any] | None = None) -> None:
        """``middleware`` wraps moto's WSGI app inside the fault middleware (tests/reliability's fault plan)."""
        moto_patches.apply()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        self.faults = Faults()
        app = DomainDispatcherApplication(create_backend_app)
        if middleware is not None:
            app = middleware(app)
        self._server = make_server("127.0.0.1", 0, self._middleware(app), threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def _middleware(self, app: Any) -> Any:
        def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            n = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(n) if n else b""
            environ["wsgi.input"] = io.BytesIO(body)
            action = ""
            if environ.get("PATH_INFO", "/") == "/" and body:
                form = urllib.parse.parse_qs(body.decode(errors="replace"))
                action = form.get("Action", [""])[0]
            signed = _SIGNED_BY.search(environ.get("HTTP_AUTHORIZATION", ""))
            if signed:
                with self.faults.lock:
                    self.faults.access_keys.add(signed[1])
            failure = self.faults.decide(action) if action else None
            if failure is not None:
                start_response("400 Bad Request", [("Content-Type", "text/xml"),
                                                   ("Content-Length", str(len(failure)))])
                return [failure]
            return app(environ, start_response)  # type: ignore[no-any-return]

        return wrapped

    def reset(self) -> None:
        self.faults.reset()
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10)

    def client(self, service: str) -> Any:
        """An uncounted client for arranging and asserting (never the adapter's)."""
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,  # type: ignore[call-overload]
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@dataclasses.dataclass
class AwsWorld:
    """The EC2 side of a cluster: a VPC, role-tagged subnets in two zones, nodes and their group."""

    vpc_id: str
    public_subnets: tuple[str, ...]
    internal_subnets: tuple[str, ...]
    subnet_cidrs: dict[str, str]
    node_sg: str
    instances: tuple[str, ...]
    zones: dict[str, str]  # instance -> zone
    user_sgs: tuple[str, ...]  # groups a user would name in security-groups annotations

    def provider_id(self, instance: str) -> str:
        return f"aws:///{self.zones[instance]}/{instance}"


def build_world(server: MotoServer, instances: int = 3) -> AwsWorld:
    ec2 = server.client("ec2")
    tag = f"kubernetes.io/cluster/{CLUSTER}"
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    public: list[str] = []
    internal: list[str] = []
    cidrs: dict[str, str] = {}
    for i, zone in enumerate(ZONES):
        for kind, role, bucket in (("public", "kubernetes.io/role/elb", public),
                                   ("internal", "kubernetes.io/role/internal-elb", internal)):
            cidr = f"10.0.{i * 16 + (0 if kind == 'public' else 8)}.0/21"
            sid = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone, TagSpecifications=[
                {"ResourceType": "subnet", "Tags": [{"Key": role, "Value": "1"}, {"Key": tag, "Value": "owned"},
                                                    {"Key": "Name", "Value": f"{kind}-{zone[-1]}"}]},
            ])["Subnet"]["SubnetId"]
            bucket.append(sid)
            cidrs[sid] = cidr
    # a subnet of another cluster in zone a must never be chosen
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.200.0/24", AvailabilityZone=ZONES[0], TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "kubernetes.io/role/elb", "Value": "1"},
                                             {"Key": "kubernetes.io/cluster/other", "Value": "owned"}]}])
    sg = ec2.create_security_group(GroupName="nodes", Description="nodes", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": tag, "Value": "owned"}]}])["GroupId"]
    ids, zones = [], {}
    for n in range(instances):
        zone_subnet = internal[n % len(internal)]
        inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=zone_subnet,
                                 SecurityGroupIds=[sg])["Instances"][0]
        ids.append(inst["InstanceId"])
        zones[inst["InstanceId"]] = inst["Placement"]["AvailabilityZone"]
    user = tuple(ec2.create_security_group(GroupName=f"user-{n}", Description="user", VpcId=vpc)["GroupId"]
                 for n in range(2))
    return AwsWorld(vpc, tuple(public), tuple(internal), cidrs, sg, tuple(ids), zones, user)


def add_instance(server: MotoServer, world: AwsWorld) -> str:
    ec2 = server.client("ec2")
    inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=world.internal_subnets[0],
                             SecurityGroupIds=[world.node_sg])["Instances"][0]
    world.instances = (*world.instances, inst["InstanceId"])
    world.zones[inst["InstanceId"]] = inst["Placement"]["AvailabilityZone"]
    return str(inst["InstanceId"])
