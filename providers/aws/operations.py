"""AWS operations: one SDK call each, as typed frozen values (see ``providers.adapter.operations``).

Plans are tuples of :class:`AwsCall`; ``providers.aws.apply`` is the only module that sends
them. A parameter that needs an earlier call's result holds a ``Ref`` to what that call
``produces``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers.adapter.operations import Kind, Operation, Ref, has_ref, name_of
from providers.port import Resource

__all__ = ["CLB", "LISTENER", "NLB", "SECURITY_GROUP", "TARGET_GROUP", "AwsCall", "Ref", "call", "has_ref"]

#: resource types, as ``ccm plan`` prints them
CLB = "elb/load-balancer"
NLB = "elbv2/load-balancer"
LISTENER = "elbv2/listener"
TARGET_GROUP = "elbv2/target-group"
SECURITY_GROUP = "ec2/security-group"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AwsCall(Operation):
    """``clients.<service>.<action>(**params)``; ``ignore_codes`` mean "already done" (after a crash)."""

    service: str  # "elb" | "elbv2" | "ec2"
    action: str  # the boto3 method name
    params: Mapping[str, Any]
    #: where in the response the value published under ``produces`` sits
    result_path: tuple[str | int, ...] = ()
    ignore_codes: frozenset[str] = frozenset()
    #: what changes, in words (default: the SDK call)
    summary: str = ""

    def detail(self) -> str:
        if self.summary or self.kind is not Kind.UPDATE:
            return self.summary
        return f"{self.service}.{self.action}"

    def payload(self) -> Mapping[str, Any]:
        return {"service": self.service, "action": self.action, "params": self.params}

    @property
    def needs_earlier_result(self) -> bool:
        return has_ref(self.params)


#: the calls that make or remove a whole resource; every other call updates one
_CREATES = frozenset({"create_load_balancer", "create_security_group", "create_target_group", "create_listener"})
_DELETES = frozenset({"delete_load_balancer", "delete_security_group", "delete_target_group", "delete_listener"})


def _kind(action: str) -> Kind:
    if action in _CREATES:
        return Kind.CREATE
    return Kind.DELETE if action in _DELETES else Kind.UPDATE


def call(resource_type: str, resource: Any, service: str, action: str, params: Mapping[str, Any], *,
         summary: str = "", produces: str | None = None, result_path: tuple[str | int, ...] = (),
         ignore: frozenset[str] | tuple[str, ...] = ()) -> AwsCall:
    """An :class:`AwsCall` on ``resource`` (a name, an id, or a Ref to one made earlier in the plan)."""
    return AwsCall(kind=_kind(action), resource=Resource(resource_type, name_of(resource)), service=service,
                   action=action, params=params, summary=summary, produces=produces, result_path=result_path,
                   ignore_codes=frozenset(ignore))
