"""Planned AWS calls: plans are lists of :class:`Op`; :func:`apply` is the only place that sends them.

A plan is pure data so it can be tested without an SDK. Values that only exist after an
earlier op ran (a new security group's id, a new target group's ARN) are :class:`Ref`
placeholders that :func:`apply` resolves from the named op's response.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from providers.aws.clients import Clients, error_code, translated_errors

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Ref:
    """A value produced by an earlier op in the same plan (see :attr:`Op.produces`), at ``path`` in it."""

    name: str
    path: tuple[str | int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Op:
    """One SDK call: ``clients.<service>.<action>(**params)``."""

    service: str  # "elb" | "elbv2" | "ec2"
    action: str  # boto3 method name
    params: Mapping[str, Any]
    #: name under which the value at ``result_path`` of the response is published for Refs
    produces: str | None = None
    result_path: tuple[str | int, ...] = ()
    #: error codes that mean "already done" (idempotent retries after a crash)
    ignore_codes: frozenset[str] = frozenset()

    def describe(self) -> str:
        return f"{self.service}.{self.action}"


def _resolve(value: Any, refs: Mapping[str, Any]) -> Any:
    if isinstance(value, Ref):
        return _dig(refs[value.name], value.path)
    if isinstance(value, Mapping):
        return {k: _resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(v, refs) for v in value]
    return value


def has_ref(value: Any) -> bool:
    """Whether ``value`` needs an op of the same plan to have run first (it holds a :class:`Ref`)."""
    if isinstance(value, Ref):
        return True
    if isinstance(value, Mapping):
        return any(has_ref(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_ref(v) for v in value)
    return False


def _dig(response: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        response = response[step]
    return response


def apply(clients: Clients, ops: Sequence[Op], key: str, refs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Send ``ops`` in order; return the Ref values they produced (merged over ``refs``)."""
    values: dict[str, Any] = dict(refs or {})
    for op in ops:
        params = _resolve(op.params, values)
        log.info("%s: %s %s", key, op.describe(), _summary(params))
        with translated_errors(key, op.describe()):
            try:
                response = getattr(clients.by_service(op.service), op.action)(**params)
            except ClientError as exc:
                if error_code(exc) not in op.ignore_codes:
                    raise
                log.info("%s: %s already done (%s)", key, op.describe(), error_code(exc))
                continue
        if op.produces is not None:
            values[op.produces] = _dig(response, op.result_path)
    return values


def _summary(params: Mapping[str, Any]) -> str:
    text = repr(params)
    return text if len(text) <= 300 else text[:297] + "..."
