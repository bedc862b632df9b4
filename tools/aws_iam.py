"""The IAM actions the AWS adapter needs, found in its source: ``.venv/bin/python -m tools.aws_iam``.

Needs botocore (run it with the project's venv, not the bare ``python3`` of ``run.py``). The
adapter keeps no list of its operations, so the source is read (an AST scan of
``providers/aws``) and every boto3 operation it can send is found in three shapes:

- a method call on a client: ``clients.ec2.describe_instances(...)``, ``ec2.describe_...(...)``,
  ``self.elbv2_client.create_listener(...)`` (the receiver's last name, or a ``_``-separated part
  of it, names the service);
- a paginator: ``clients.elbv2.get_paginator("describe_target_groups")``;
- a planned call as data: any call whose literal arguments hold a service name and one of that
  service's operations, e.g. ``Op("elb", "create_load_balancer", ...)``.

Operation names come from botocore's service models (snake_case, as boto3 exposes them) and turn
into IAM actions as ``<signing name>:<OperationName>``; ELB and ELBv2 share the
``elasticloadbalancing`` prefix. A name that looks like an operation but whose service cannot be
told is reported as unresolved, so a new call shape fails loudly instead of being missed.
What the three clouds' scans share is in ``tools/iam_scan.py``.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import sys
from pathlib import Path

import botocore.session
from botocore import xform_name

from tools import ROOT
from tools.iam_scan import call_args, last_name, sources, strings

ADAPTER = ROOT / "providers" / "aws"
POLICY = ROOT / "deploy" / "iam" / "aws-policy.json"


@dataclasses.dataclass(frozen=True, order=True)
class Call:
    service: str  # boto3 client name: "ec2", "elb", "elbv2"
    operation: str  # boto3 method name: "describe_instances"


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def operations(service: str) -> frozenset[str]:
    """boto3's method names for ``service`` (``DescribeInstances`` -> ``describe_instances``)."""
    return frozenset(xform_name(op) for op in _session().get_service_model(service).operation_names)


@functools.cache
def _operation_names(service: str) -> dict[str, str]:
    return {xform_name(op): op for op in _session().get_service_model(service).operation_names}


def iam_action(call: Call) -> str:
    """``ec2:DescribeInstances``: the service's signing name and the API operation's name."""
    model = _session().get_service_model(call.service)
    return f"{model.signing_name}:{_operation_names(call.service)[call.operation]}"


class _Scan(ast.NodeVisitor):
    def __init__(self, services: frozenset[str], where: str) -> None:
        self.services = services
        self.where = where
        self.calls: set[Call] = set()
        self.mentions: dict[str, str] = {}  # op-like name -> first place seen

    def _service_of(self, receiver: ast.AST) -> str | None:
        name = last_name(receiver)
        if name is None:
            return None
        if name in self.services:
            return name
        parts = [p for p in name.lower().split("_") if p]
        found = [p for p in parts if p in self.services]
        return found[0] if len(found) == 1 else None

    def _mention(self, name: str, node: ast.AST) -> None:
        if any(name in operations(s) for s in self.services):
            self.mentions.setdefault(name, f"{self.where}:{getattr(node, 'lineno', '?')}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        args = call_args(node)
        if isinstance(func, ast.Attribute):
            service = self._service_of(func.value)
            if service is not None and func.attr in operations(service):
                self.calls.add(Call(service, func.attr))
            elif service is not None and func.attr in ("get_paginator", "can_paginate"):
                for op in strings(args):
                    if op in operations(service):
                        self.calls.add(Call(service, op))
            self._mention(func.attr, node)
        literals = strings(args)
        for service in (s for s in literals if s in self.services):
            for op in literals:
                if op in operations(service):
                    self.calls.add(Call(service, op))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._mention(node.value, node)


def client_services(root: Path = ADAPTER) -> frozenset[str]:
    """botocore service names the adapter spells out (the clients it creates and names)."""
    available = set(_session().get_available_services())
    return frozenset(s for _, tree in sources(root) for n in ast.walk(tree)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str) and (s := n.value) in available)


@dataclasses.dataclass(frozen=True)
class ScanResult:
    calls: frozenset[Call]
    #: names that are operations of a client service but were never seen as a call with a known service
    unresolved: dict[str, str]

    def actions(self) -> frozenset[str]:
        return frozenset(iam_action(c) for c in self.calls)


def scan(root: Path = ADAPTER) -> ScanResult:
    services = client_services(root)
    calls: set[Call] = set()
    mentions: dict[str, str] = {}
    for where, tree in sources(root):
        visitor = _Scan(services, where)
        visitor.visit(tree)
        calls |= visitor.calls
        for name, at in visitor.mentions.items():
            mentions.setdefault(name, at)
    resolved = {c.operation for c in calls}
    return ScanResult(frozenset(calls), {n: at for n, at in sorted(mentions.items()) if n not in resolved})


def policy_actions(path: Path = POLICY) -> dict[str, set[str]]:
    """Action -> Sids of the Allow statements granting it."""
    doc = json.loads(path.read_text())
    out: dict[str, set[str]] = {}
    for stmt in doc["Statement"]:
        if stmt.get("Effect") != "Allow":
            continue
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        for action in actions:
            out.setdefault(action, set()).add(stmt.get("Sid", "?"))
    return out


def main() -> int:
    result = scan()
    for action in sorted(result.actions()):
        print(action)
    for name, at in result.unresolved.items():
        print(f"unresolved: {name} ({at})", file=sys.stderr)
    return 1 if result.unresolved else 0


if __name__ == "__main__":
    sys.exit(main())
