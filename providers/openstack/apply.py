"""The only module of the OpenStack adapter that sends a mutating call: the executor of :class:`OsCall`.

After every Octavia call it waits for the load balancer's job (``ACTIVE`` again, or gone after a
delete), so the next call never meets a pending load balancer. A 409 all the same (another
client's job, a restart mid-job) is met by waiting for the job and sending again, a few times,
then a fixed-delay retry. 429 and 5xx go through the shared retry policy (a create only on 429:
one answered 5xx may exist already). A delete of something already gone is "already done" (a
crash between the call and its answer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openstack import exceptions as os_exceptions

from providers.adapter.apply import AlreadyDone, Executor
from providers.adapter.apply import apply as run
from providers.adapter.operations import resolve
from providers.adapter.retry import RetryPolicy
from providers.openstack.clients import status_of, throttled, translated_errors
from providers.openstack.config import Waits
from providers.openstack.operations import OsCall
from providers.openstack.world import view, wait_active
from providers.port import RetryError

log = logging.getLogger(__name__)
#: how often a call refused with 409 is sent again after waiting for the load balancer
CONFLICT_ATTEMPTS = 4


class OsExecutor(Executor[OsCall]):
    def __init__(self, conn: Any, waits: Waits, sleep: Callable[[float], None] = time.sleep,
                 retry: RetryPolicy | None = None) -> None:
        self.conn = conn
        self.waits = waits
        self.sleep = sleep
        self._wait_for: str | None = None
        self._creating = False
        self.retry = retry or RetryPolicy(attempts=3, base_delay=waits.initial, max_delay=waits.max_interval,
                                          retry_after=10.0, sleep=sleep)

    def throttled(self, exc: BaseException) -> bool:
        """429 always; 5xx only for calls that are safe to repeat (a create answered 5xx may have been
        applied, and a second POST would make a second object: the next reconcile finds the first)."""
        if self._creating:
            return status_of(exc) == 429
        return throttled(exc)

    def _call(self, op: OsCall, target: Any, params: Mapping[str, Any]) -> Any:
        lbaas, net = self.conn.load_balancer, self.conn.network
        action = op.action
        if action == "batch_members":
            response = lbaas.put(f"/lbaas/pools/{target}/members", json=dict(params))
            os_exceptions.raise_from_response(response)
            return None
        if action == "delete_load_balancer":
            return lbaas.delete_load_balancer(target, cascade=True, ignore_missing=False)
        if action == "set_ip_tags":
            return net.set_tags(net.get_ip(target), list(params["tags"]))
        if action.startswith("delete_"):
            return getattr(lbaas if op.service == "load-balancer" else net, action)(target, ignore_missing=False)
        if action.startswith("create_"):
            return getattr(lbaas if op.service == "load-balancer" else net, action)(**params)
        return getattr(lbaas if op.service == "load-balancer" else net, action)(target, **params)

    def send(self, op: OsCall, refs: Mapping[str, Any], key: str) -> Any:
        target, params = resolve(op.target, refs), resolve(op.params, refs)
        lb = resolve(op.lb, refs) if op.lb is not None and op.produces != "lb" else None
        self._wait_for = lb
        self._creating = op.kind == "create"
        log.debug("%s: %s %s %s", key, op.action, target or "", _summary(params))
        with translated_errors(key, f"{op.action} {op.resource.name}", keep_throttling=True):
            for attempt in range(1, CONFLICT_ATTEMPTS + 1):
                try:
                    result = self._call(op, target, params)
                    return view(result) if hasattr(result, "to_dict") else result
                except os_exceptions.NotFoundException as exc:
                    if op.kind == "delete":
                        raise AlreadyDone(str(exc)) from exc
                    raise
                except os_exceptions.ConflictException:
                    if lb is None or attempt == CONFLICT_ATTEMPTS:
                        if lb is not None:
                            raise RetryError(f"{key}: {op.describe()}: load balancer {lb} stays busy (409)",
                                             self.waits.retry_after) from None
                        raise
                    log.info("%s: %s refused with 409; waiting for load balancer %s", key, op.action, lb)
                    wait_active(self.conn, lb, self.waits, key, sleep=self.sleep)
        raise AssertionError("unreachable")

    def wait(self, op: OsCall, response: Any, key: str) -> Any:
        if op.lb is None:
            return response
        lb_id = response["id"] if op.produces == "lb" else self._wait_for
        if lb_id is None:
            return response
        with translated_errors(key, f"waiting for {op.describe()}"):
            done = wait_active(self.conn, lb_id, self.waits, key, gone_ok=op.action == "delete_load_balancer",
                               sleep=self.sleep)
        return done if op.produces == "lb" else response


def apply(conn: Any, waits: Waits, plan: Sequence[OsCall], key: str, sleep: Callable[[float], None] = time.sleep
          ) -> dict[str, Any]:
    """Send ``plan`` in order, each Octavia call followed by its wait; return what the calls produced."""
    return run(plan, OsExecutor(conn, waits, sleep), key)


def _summary(params: Mapping[str, Any]) -> str:
    text = repr(params)
    return text if len(text) <= 300 else text[:297] + "..."
