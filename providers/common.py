"""Helpers every cloud adapter may share (no cloud SDK, no Kubernetes)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


class KeyedLocks:
    """One lock per key (a Service), for serialising ``ensure`` and ``update`` on it.

    A key's lock lives only while someone holds or waits for it, so a long-running
    controller does not keep one per Service it has ever seen.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        #: key -> [its lock, callers holding or waiting for it]
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]

    def __len__(self) -> int:
        """Keys currently held or waited for."""
        with self._guard:
            return len(self._locks)


def positive_option(options: Mapping[str, str], key: str, default: float, kind: type[float] | type[int] = float,
                    *, provider: str) -> float:
    """``options[key]`` as a number > 0 of ``kind``, else a start-up error naming the option.

    An int option rejects "0.5" rather than truncating it to 0; unset or empty means ``default``.
    """
    raw = options.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{provider} provider option {key}={raw!r}: not {what}") from None
    if value <= 0:
        raise ValueError(f"{provider} provider option {key}={raw!r}: must be > 0")
    return value


def check_known_options(options: Mapping[str, str], known: Iterable[str], *, provider: str) -> None:
    """Refuse a provider option nobody reads: a typo must not be silently ignored."""
    known = set(known)
    unknown = sorted(k for k in options if k not in known)
    if unknown:
        raise ValueError(f"{provider} provider: unknown option{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(unknown)} (known: {', '.join(sorted(known))})")
