"""The only module of the local cloud that changes anything: the VIP table and the engine's listeners.

A listener that cannot bind is not a failure of the whole plan: its port gets an error status
(``PortInUse``, ``PermissionDenied``) and a warning, and the other ports are served.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
from collections.abc import Mapping
from typing import Any

from ccm.proxy.engine import ListenerConfig, ThreadedEngine
from providers.adapter.apply import Executor
from providers.adapter.operations import Kind, Operation
from providers.local.health import Target
from providers.local.operations import AssignVip, ListenerKey, ListenerOp, ReleaseVip
from providers.local.vips import Owner, VipTable
from providers.metrics import ApiCallCounter
from providers.port import LoadBalancerRequest, ProviderWarning

log = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class Balancer:
    """What this process has built for one Service (the engine holds the sockets)."""

    uid: str
    key: str
    vip: str
    request: LoadBalancerRequest
    listeners: dict[ListenerKey, ListenerConfig] = dataclasses.field(default_factory=dict)
    port_errors: dict[ListenerKey, str] = dataclasses.field(default_factory=dict)
    targets: dict[str, Target] = dataclasses.field(default_factory=dict)  # node name -> target


def bind_error_reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "PortInUse"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "PermissionDenied"
    return "ListenFailed"


class LocalExecutor(Executor[Operation]):
    def __init__(self, engine: ThreadedEngine, vips: VipTable, counter: ApiCallCounter, cluster: str,
                 balancer: Balancer | None = None) -> None:
        self.engine = engine
        self.vips = vips
        self.counter = counter
        self.cluster = cluster
        self.balancer = balancer
        #: listeners that could not bind, as warnings for the Service
        self.warnings: list[ProviderWarning] = []

    def send(self, op: Operation, refs: Mapping[str, Any], key: str) -> Any:
        if isinstance(op, AssignVip):
            if self.vips.assign(op.vip, Owner(self.cluster, op.uid, op.service)):
                self.counter.record("vips", "assign", mutating=True)
        elif isinstance(op, ReleaseVip):
            if self.vips.release(op.vip, self.cluster, op.uid):
                self.counter.record("vips", "release", mutating=True)
        elif isinstance(op, ListenerOp):
            self._listener(op, key)
        else:
            raise TypeError(f"not a local operation: {op!r}")
        return None

    def _listener(self, op: ListenerOp, key: str) -> None:
        b = self.balancer
        assert b is not None, "listener operations need the Service's balancer"
        where = f"{op.vip}:{op.port}/{op.protocol}"
        if op.kind is Kind.DELETE:
            self.engine.close_listener(op.vip, op.port, op.protocol)
            self.counter.record("engine", "close", mutating=True)
            b.listeners.pop(op.key, None)
            return
        assert op.config is not None
        if op.kind is Kind.UPDATE:
            self.engine.update(op.vip, op.port, op.protocol, op.config)
            self.counter.record("engine", "update", mutating=True)
            b.listeners[op.key] = op.config
            return
        try:
            self.engine.listen(op.vip, op.port, op.config)
        except OSError as e:
            self.counter.record("engine", "listen", mutating=True, ok=False)
            log.warning("%s: cannot listen on %s: %s", key, where, e)
            reason = bind_error_reason(e)
            b.port_errors[op.key] = reason
            self.warnings.append(ProviderWarning(reason, f"cannot listen on {where}: {e.strerror or e}"))
            return
        self.counter.record("engine", "listen", mutating=True)
        b.listeners[op.key] = op.config
