"""AWS on moto server (real HTTP, boto3): the fault plan as a WSGI middleware in front of moto.

Only requests signed with the controller's access key id go through the plan; the harness's own
clients sign with another key and are never throttled or fenced. A crash lets moto apply the
k-th mutating request and answers it with an error instead (the response is lost).
"""

from __future__ import annotations

import io
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from ccm.annotations import aws as aws_ann
from providers.port import CloudProvider, ProviderContext
from tests.providers.aws.harness import CLUSTER, REGION, AwsWorld, MotoServer, build_world
from tests.providers.aws.state import AwsState
from tests.reliability.clouds.base import FOREIGN_CLUSTER, Failure, FaultPlan, Traits, node

#: the access key id the controller's provider signs with (moto does not check signatures)
CONTROLLER_KEY = "AKIDCONTROLLER"
HARNESS_KEY = "AKIDHARNESS"
_READ_PREFIXES = ("Describe", "List", "Get")
_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")
_ERRORS = {
    Failure.THROTTLED: ("400 Bad Request", "Throttling", "Rate exceeded"),
    Failure.UNAVAILABLE: ("503 Service Unavailable", "ServiceUnavailable", "Service is unavailable, retry"),
    Failure.CRASHED: ("400 Bad Request", "InjectedCrash", "the controller died after this call took effect"),
    Failure.FENCED: ("400 Bad Request", "InjectedCrash", "the controller is dead"),
}


def _error(service: str, failure: Failure) -> tuple[str, bytes]:
    status, code, message = _ERRORS[failure]
    if service == "ec2":  # the EC2 query protocol's error shape
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>fault</RequestID></Response>")
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>fault</RequestId></ErrorResponse>")
    return status, body.encode()


class AwsFixture(Traits):
    name = "aws"
    variants: dict[str, dict[str, str]] = {"clb": {}, "nlb": {aws_ann.TYPE.key: "nlb"}}
    cluster = CLUSTER

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.received_mutating = 0
        self.server: MotoServer | None = None
        self.world: AwsWorld | None = None

    # ---- server -----------------------------------------------------------------------------
    def _middleware(self, app: Any) -> Any:
        def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            n = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(n) if n else b""
            environ["wsgi.input"] = io.BytesIO(body)
            scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
            if scope is None or scope[1] != CONTROLLER_KEY:
                return app(environ, start_response)  # type: ignore[no-any-return]
            service = scope[2]
            action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
            mutating = bool(action) and not action.startswith(_READ_PREFIXES)
            if mutating:
                self.received_mutating += 1
            failure = self.faults.before()
            if failure is None and mutating:
                seen: dict[str, Any] = {}

                def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                    seen.update(status=status, headers=headers)
                    return lambda _data: None

                chunks = list(app(environ, capture))  # applied here
                failure = self.faults.after(True, ok=int(seen["status"].split()[0]) < 300)
                if failure is None:
                    start_response(seen["status"], seen["headers"])
                    return chunks
            if failure is None:
                return app(environ, start_response)  # type: ignore[no-any-return]
            status, data = _error(service, failure)
            start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
            return [data]

        return wrapped

    def start(self) -> None:
        self.server = MotoServer(middleware=self._middleware)
        self.server.client("ec2").describe_vpcs()  # warm the lazily loaded backends once
        self.server.client("elbv2").describe_load_balancers()
        self.server.client("elb").describe_load_balancers()
        self.reset()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def reset(self) -> None:
        assert self.server is not None
        self.server.reset()  # moto's backends are per process: another server's state goes too
        self.faults.reset()
        self.received_mutating = 0
        self.world = build_world(self.server, instances=4)
        # the subnets and the nodes' group serve a second cluster too (the orphan sweep's foreign one)
        self.server.client("ec2").create_tags(
            Resources=[*self.world.public_subnets, *self.world.internal_subnets, self.world.node_sg],
            Tags=[{"Key": f"kubernetes.io/cluster/{FOREIGN_CLUSTER}", "Value": "shared"}])

    # ---- providers ----------------------------------------------------------------------------
    def _provider(self, key: str, cluster: str | None) -> CloudProvider:
        from providers.aws import create

        assert self.server is not None
        return create(ProviderContext(cluster_name=cluster or CLUSTER, options={
            "aws-endpoint-url": self.server.url, "aws-region": REGION, "aws-max-attempts": "3",
            "aws-access-key-id": key, "aws-secret-access-key": "testing"}))

    def make_cloud(self, cluster: str | None = None) -> CloudProvider:
        return self._provider(CONTROLLER_KEY, cluster)

    def make_probe(self, cluster: str | None = None) -> CloudProvider:
        return self._provider(HARNESS_KEY, cluster)

    # ---- the cluster ---------------------------------------------------------------------------
    def _node(self, instance: str) -> dict[str, Any]:
        assert self.world is not None
        return node(f"node-{instance}", "10.0.0.10", self.world.provider_id(instance))

    def nodes(self) -> list[dict[str, Any]]:
        assert self.world is not None
        return [self._node(i) for i in self.world.instances[:3]]

    def spare_node(self) -> dict[str, Any]:
        assert self.world is not None
        return self._node(self.world.instances[3])

    # ---- the cloud's own view --------------------------------------------------------------------
    def list_all(self) -> list[str]:
        assert self.server is not None and self.world is not None
        aws = AwsState(self.server)
        out = [f"elb/clb {lb['LoadBalancerName']}" for lb in aws.clbs()]
        for lb in aws.nlbs():
            out.append(f"elbv2/nlb {lb['LoadBalancerName']}")
            out += [f"elbv2/listener {lb['LoadBalancerName']}:{x['Port']}" for x in aws.nlb_listeners(
                lb["LoadBalancerName"])]
        out += [f"elbv2/target-group {tg['TargetGroupName']}" for tg in aws.target_groups()]
        out += [f"ec2/security-group {g['GroupName']}" for g in aws.ec2.describe_security_groups()["SecurityGroups"]
                if g["GroupName"].startswith("k8s-")]
        out += [f"ec2/node-rule {' '.join(map(str, r))}" for r in sorted(aws.rules(self.world.node_sg))]
        return out

    def mutating_calls(self) -> int:
        return self.received_mutating
