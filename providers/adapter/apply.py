"""The generic apply runner: a plan in, one cloud call per operation, in order.

Each adapter provides an :class:`Executor` in its own ``apply`` module, the only code of the
adapter that sends a mutating call: ``send`` makes the one call for an operation, ``wait``
waits for it when the cloud answers with a long-running operation (GCE operations, Azure
pollers), ``throttled`` says which failures the shared :class:`RetryPolicy` retries. An
operation whose effect is already there (a duplicate after a crash, a delete of something
already gone) makes ``send`` raise :class:`AlreadyDone`, and the plan goes on.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from providers.adapter.operations import Operation
from providers.adapter.retry import SDK_RETRIES_ONLY, RetryPolicy

log = logging.getLogger(__name__)
OpT = TypeVar("OpT", bound=Operation)


class AlreadyDone(Exception):
    """The cloud reports the operation's effect is already in place; nothing to do."""


class Executor(abc.ABC, Generic[OpT]):
    """Sends one adapter's operations; subclasses live in the adapter's ``apply`` module."""

    #: retries for what :meth:`throttled` accepts; the default trusts the SDK's own retries
    retry: RetryPolicy = SDK_RETRIES_ONLY

    @abc.abstractmethod
    def send(self, op: OpT, refs: Mapping[str, Any], key: str) -> Any:
        """Make the one call ``op`` stands for (``refs`` resolves its Refs); return the response.

        Raise :class:`AlreadyDone` when the cloud says it is done already, and translate other
        failures into the port's errors (``RetryError``, ``UserError``) or let them propagate.
        """

    def wait(self, op: OpT, response: Any, key: str) -> Any:
        """Wait for a long-running operation the call started; returns its final result."""
        return response

    def throttled(self, exc: BaseException) -> bool:
        """Whether ``exc`` is throttling worth retrying under :attr:`retry`."""
        return False

    def produced(self, op: OpT, result: Any) -> Any:
        """The value published under ``op.produces`` (default: the whole result)."""
        return result


def apply(plan: Sequence[OpT], executor: Executor[OpT], key: str,
          refs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Send ``plan`` in order; return the values the operations produced (merged over ``refs``).

    Stops at the first failure: the plan was computed from one observation, and the next
    reconcile re-observes and plans what is still missing.
    """
    values: dict[str, Any] = dict(refs or {})
    for op in plan:
        log.info("%s: %s", key, op.describe())
        try:
            response = executor.retry.run(lambda op=op: executor.send(op, values, key),  # type: ignore[misc]
                                          executor.throttled, what=f"{key}: {op.describe()}")
        except AlreadyDone as done:
            log.info("%s: %s already done (%s)", key, op.describe(), done)
            continue
        result = executor.wait(op, response, key)
        if op.produces is not None:
            values[op.produces] = executor.produced(op, result)
    return values
