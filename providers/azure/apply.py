"""The only module of the Azure adapter that sends a mutating call: the executor of ``AzureOp``.

Shared resources (a load balancer, the cluster security group, a NIC) are written by
:class:`Writer`, one commit at a time per resource: a fresh GET, every pending edit applied in turn
(each a pure function of the body), one PUT with ``If-Match: <etag>`` (``If-None-Match: *`` when
creating). A 412 means another writer got there first: read again, apply again. Edits that arrive
while a commit runs wait and go out together in the next one, so N Services updating one load
balancer at once cost far fewer than N PUTs and none loses another's frontend.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from providers.adapter.apply import AlreadyDone, Executor
from providers.adapter.apply import apply as run
from providers.adapter.locks import KeyedLocks
from providers.adapter.operations import resolve
from providers.azure.clients import Clients, is_not_found, is_precondition_failed, translated_errors
from providers.azure.edits import NicEdit, frontend_of, is_empty, pool_id, pool_members, props
from providers.azure.operations import AzureOp, DeleteResource, EditResource, PutResource
from providers.port import RetryError

log = logging.getLogger(__name__)

Body = dict[str, Any]
#: reads and re-applies after a 412 before the controller is asked to come back
MAX_PRECONDITION_RETRIES = 8


@dataclasses.dataclass
class _Pending:
    edit: Any
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    result: Body | None = None
    error: BaseException | None = None


class Writer:
    """Serialised, batched read-modify-write of shared resources (see the module docstring)."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._locks = KeyedLocks()
        self._guard = threading.Lock()
        self._pending: dict[str, list[_Pending]] = {}
        #: PUTs sent and edits they carried (benchmarks read these)
        self.commits = 0
        self.edits = 0
        #: resource key -> how many times an edit created it (a load balancer deleted and made again)
        self.creations: dict[str, int] = {}

    def _api(self, api: str) -> Any:
        return getattr(self.clients.network, api)

    def get(self, api: str, group: str, name: str) -> Body | None:
        try:
            return dict(self._api(api).get(group, name).as_dict())
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    def edit(self, api: str, group: str, name: str, change: Any) -> Body | None:
        """Apply ``change`` to the resource as it is now; returns the resource as written (or read)."""
        key = f"{api}/{group}/{name}".lower()
        mine = _Pending(change)
        with self._guard:
            self._pending.setdefault(key, []).append(mine)
        with self._locks.hold(key):
            if not mine.done.is_set():
                with self._guard:
                    batch = self._pending.pop(key, [])
                self._commit(api, group, name, batch)
        if mine.error is not None:
            raise mine.error
        return mine.result

    def _commit(self, api: str, group: str, name: str, batch: list[_Pending]) -> None:
        try:
            for _ in range(MAX_PRECONDITION_RETRIES):
                current = self.get(api, group, name)
                body = current
                applied: list[_Pending] = []
                for pending in batch:
                    try:
                        body = pending.edit.apply(body)
                        applied.append(pending)
                    except Exception as exc:  # this Service's edit is refused; the others still go out
                        pending.error = exc
                if body is current or body is None:
                    self._finish(applied, current)
                    return
                headers = {"If-Match": current["etag"]} if current and current.get("etag") else \
                    {"If-None-Match": "*"}
                try:
                    written = self._api(api).begin_create_or_update(
                        group, name, body, headers=headers, polling=self.clients.polling()).result()
                except Exception as exc:
                    if is_precondition_failed(exc):
                        log.info("%s %s/%s changed under us (412); reading it again", api, group, name)
                        continue
                    if len(applied) > 1:
                        # ARM refused the batch: one Service's edit must not fail the others; one at a time
                        log.info("%s %s/%s: a batch of %d edits was refused (%s); writing them one by one",
                                 api, group, name, len(applied), exc)
                        for pending in applied:
                            try:
                                self._commit(api, group, name, [pending])
                            except Exception as single:
                                pending.error = single
                        return
                    raise
                self.commits += 1
                self.edits += len(applied)
                if current is None:
                    with self._guard:
                        key = f"{api}/{group}/{name}".lower()
                        self.creations[key] = self.creations.get(key, 0) + 1
                self._finish(applied, dict(written.as_dict()))
                return
            raise RetryError(f"{api} {group}/{name} kept changing during {MAX_PRECONDITION_RETRIES} writes", 1.0)
        except BaseException as exc:
            for pending in batch:
                if not pending.done.is_set():
                    pending.error = pending.error or exc
                    pending.done.set()
            raise
        finally:
            for pending in batch:
                pending.done.set()

    @staticmethod
    def _finish(applied: Sequence[_Pending], result: Body | None) -> None:
        for pending in applied:
            pending.result = result
            pending.done.set()

    def created(self, api: str, group: str, name: str) -> int:
        with self._guard:
            return self.creations.get(f"{api}/{group}/{name}".lower(), 0)

    def delete_if_empty(self, group: str, name: str, pool: str) -> None:
        """Delete a shared load balancer if nothing is on it, under its commit lock (so no edit of this
        process slips in between): the NICs in its pool leave it first (ARM refuses to delete a pool
        in use), then the load balancer goes with ``If-Match``."""
        key = f"load_balancers/{group}/{name}".lower()
        with self._locks.hold(key):
            for _ in range(MAX_PRECONDITION_RETRIES):
                current = self.get("load_balancers", group, name)
                if current is None:
                    raise AlreadyDone("already gone")
                if not is_empty(current, pool):
                    raise AlreadyDone("a Service is on it")
                lb_pool = pool_id(str(current["id"]), pool)
                for nic in sorted({m.split("/ipConfigurations/")[0] for m in pool_members(current, pool)}):
                    parts = nic.strip("/").split("/")
                    self.edit("network_interfaces", parts[3], parts[-1], NicEdit(nic, remove=(lb_pool,)))
                headers = {"If-Match": current["etag"]} if current.get("etag") else {}
                try:
                    self._api("load_balancers").begin_delete(group, name, headers=headers,
                                                             polling=self.clients.polling()).result()
                    return
                except Exception as exc:
                    if is_not_found(exc):
                        raise AlreadyDone("already gone") from exc
                    if not is_precondition_failed(exc):
                        raise
            raise RetryError(f"load balancer {group}/{name} kept changing while being deleted", 1.0)


class AzureExecutor(Executor[AzureOp]):
    """Throttling is retried by azure-core's retry policy (``azure-retry-total``); what survives it
    becomes a RetryError in ``translated_errors``, so the shared policy adds no retries here."""

    def __init__(self, clients: Clients, writer: Writer) -> None:
        self.clients = clients
        self.writer = writer

    def send(self, op: AzureOp, refs: Mapping[str, Any], key: str) -> Any:
        api = getattr(self.clients.network, op.group_api)
        with translated_errors(key, op.describe()):
            if isinstance(op, PutResource):
                body = resolve(dict(op.body), refs)
                return dict(api.begin_create_or_update(op.resource_group, op.name, body,
                                                       polling=self.clients.polling()).result().as_dict())
            if isinstance(op, EditResource):
                change = op.edit.resolved(refs) if hasattr(op.edit, "resolved") else op.edit
                return self.writer.edit(op.group_api, op.resource_group, op.name, change)
            if isinstance(op, DeleteResource):
                if op.only_if_empty is not None:
                    self.writer.delete_if_empty(op.resource_group, op.name, op.only_if_empty)
                    return None
                try:
                    api.begin_delete(op.resource_group, op.name, polling=self.clients.polling()).result()
                except Exception as exc:
                    if is_not_found(exc):
                        raise AlreadyDone("already gone") from exc
                    raise
                return None
        raise TypeError(f"unknown operation {op!r}")

    def produced(self, op: AzureOp, result: Any) -> Any:
        """A public IP's address, or an internal frontend's private IP (for the NSG rules)."""
        if isinstance(op, PutResource):
            return props(result).get("ipAddress")
        if isinstance(op, EditResource) and getattr(op.edit, "parts", None) is not None:
            fe = frontend_of(result, op.edit.parts.frontend["name"])
            return props(fe).get("privateIPAddress") if fe else None
        return result


def apply(clients: Clients, writer: Writer, plan: Sequence[AzureOp], key: str,
          refs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Send ``plan``; return the values its operations produced (merged over ``refs``)."""
    return run(plan, AzureExecutor(clients, writer), key, refs)
