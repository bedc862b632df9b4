"""Injected failures for the fake cloud's load balancers and machines: ``fail(op, error, times)``.

``error`` is an exception, or a callable that builds one from the call's subject (a request, a
node) or returns None to let that call through. A failure armed for ``times`` calls is used up
after that many raises (``times=None``: until cleared); the first armed failure that fires wins.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclasses.dataclass
class _Failure(Generic[S]):
    error: BaseException | Callable[[S], BaseException | None]
    remaining: int | None


class Failures(Generic[S]):
    """Failures armed per operation name (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, list[_Failure[S]]] = {}

    def add(self, operation: str, error: BaseException | Callable[[S], BaseException | None],
            times: int | None = 1) -> None:
        with self._lock:
            self._armed.setdefault(operation, []).append(_Failure(error, times))

    def clear(self, operation: str | None = None) -> None:
        with self._lock:
            if operation is None:
                self._armed.clear()
            else:
                self._armed.pop(operation, None)

    def take(self, operation: str, subject: S) -> BaseException | None:
        """The error this call of ``operation`` on ``subject`` raises, if any (counted down)."""
        with self._lock:
            for f in list(self._armed.get(operation, ())):
                error = f.error(subject) if callable(f.error) else f.error
                if error is None:
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._armed[operation].remove(f)
                return error
        return None
