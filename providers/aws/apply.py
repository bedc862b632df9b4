"""The only module of the AWS adapter that sends a mutating call: the executor of :class:`AwsCall`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from providers.adapter.apply import AlreadyDone, Executor
from providers.adapter.apply import apply as run
from providers.adapter.operations import resolve
from providers.aws.clients import Clients, error_code, translated_errors
from providers.aws.operations import AwsCall

log = logging.getLogger(__name__)


class AwsExecutor(Executor[AwsCall]):
    """Throttling is retried by botocore's standard mode; what survives it becomes a RetryError
    in ``translated_errors``, so the shared policy adds no retries of its own here."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def send(self, op: AwsCall, refs: Mapping[str, Any], key: str) -> Any:
        params = resolve(op.params, refs)
        log.debug("%s: %s.%s %s", key, op.service, op.action, _summary(params))
        with translated_errors(key, f"{op.service}.{op.action}"):
            try:
                return getattr(self.clients.by_service(op.service), op.action)(**params)
            except ClientError as exc:
                if error_code(exc) in op.ignore_codes:
                    raise AlreadyDone(error_code(exc)) from exc
                raise

    def produced(self, op: AwsCall, result: Any) -> Any:
        for step in op.result_path:
            result = result[step]
        return result


def apply(clients: Clients, plan: Sequence[AwsCall], key: str, refs: Mapping[str, Any] | None = None
          ) -> dict[str, Any]:
    """Send ``plan``; return the values its calls produced (merged over ``refs``)."""
    return run(plan, AwsExecutor(clients), key, refs)


def _summary(params: Mapping[str, Any]) -> str:
    text = repr(params)
    return text if len(text) <= 300 else text[:297] + "..."
