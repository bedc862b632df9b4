"""Operations: every mutating call returns one, ``RUNNING``; ``get`` and ``wait`` report ``DONE``.

An operation completes ``duration`` seconds after it was accepted (0 by default) and, besides
that, after ``running_polls`` ``get`` calls have seen it still running, so clients that poll
are exercised even with instant operations. ``wait`` blocks until the operation is done or its
deadline passes (Compute Engine's is two minutes; tests shorten it), then returns the current
state, which may still be ``RUNNING`` as the API documents. An operation that failed carries
``error`` and ``httpErrorStatusCode`` once it is ``DONE``, never before.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.gce import links
from emulators.gce.errors import NotFound, OperationError
from emulators.gce.timefmt import rfc3339


@dataclass
class Operation:
    project: str
    scope: str
    name: str
    body: dict[str, Any]
    done_at: float
    running_polls: int
    error: OperationError | None = None
    finished: bool = False


@dataclass
class OperationSettings:
    """How operations behave; tests change these on a running emulator."""

    duration: float = 0.0
    running_polls: int = 0
    wait_deadline: float = 120.0


@dataclass
class Operations:
    clock: Callable[[], float] = time.monotonic
    settings: OperationSettings = field(default_factory=OperationSettings)

    def __post_init__(self) -> None:
        self._ops: dict[tuple[str, str, str], Operation] = {}
        self._ids = itertools.count(7000000000000000001)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._ops.clear()

    def start(self, project: str, scope: str, op_type: str, target: links.Ref, *,
              target_id: str | None, error: OperationError | None) -> dict[str, Any]:
        """Record an accepted mutation and return the operation as the mutating call answers it."""
        op_id = next(self._ids)
        name = f"operation-{op_id}-{int(time.time() * 1000)}"
        now = rfc3339()
        body: dict[str, Any] = {
            "kind": "compute#operation", "id": str(op_id), "name": name, "operationType": op_type,
            "targetLink": target.url, "status": "RUNNING", "progress": 0, "user": "emulator@ccm.local",
            "insertTime": now, "startTime": now, "creationTimestamp": now,
            "selfLink": f"{links.scope_url(project, scope)}/operations/{name}",
        }
        if target_id:
            body["targetId"] = target_id
        if scope.startswith("regions/"):
            body["region"] = links.scope_url(project, scope)
        elif scope.startswith("zones/"):
            body["zone"] = links.scope_url(project, scope)
        op = Operation(project, scope, name, body, self.clock() + self.settings.duration,
                       self.settings.running_polls, error)
        with self._lock:
            self._ops[(project, scope, name)] = op
        return dict(body)

    def _find(self, project: str, scope: str, name: str) -> Operation:
        op = self._ops.get((project, scope, name))
        if op is None:
            raise NotFound(f"The resource 'projects/{project}/{scope}/operations/{name}' was not found")
        return op

    def _render(self, op: Operation) -> dict[str, Any]:
        if not op.finished and self.clock() >= op.done_at and op.running_polls <= 0:
            op.finished = True
            op.body.update(status="DONE", progress=100, endTime=rfc3339())
            if op.error is not None:
                op.body.update(op.error.fields())
        return dict(op.body)

    def get(self, project: str, scope: str, name: str) -> dict[str, Any]:
        with self._lock:
            op = self._find(project, scope, name)
            if op.running_polls > 0 and not op.finished:
                op.running_polls -= 1
                return dict(op.body)
            return self._render(op)

    def wait(self, project: str, scope: str, name: str) -> dict[str, Any]:
        with self._lock:
            op = self._find(project, scope, name)
            op.running_polls = 0
            remaining = op.done_at - self.clock()
        deadline = self.settings.wait_deadline
        if remaining > 0:
            time.sleep(min(remaining, deadline))
        with self._lock:
            return self._render(op)

    def list(self, project: str, scope: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._render(op) for (p, s, _), op in sorted(self._ops.items()) if p == project and s == scope]

    def delete(self, project: str, scope: str, name: str) -> None:
        with self._lock:
            self._find(project, scope, name)
            del self._ops[(project, scope, name)]
