"""The sync errors, with upstream's exact wrapped messages (§4), and RetryError detection."""

from __future__ import annotations

from providers.port import RetryError


class SyncError(Exception):
    """A failed sync step; ``__cause__`` keeps the original error (like Go's ``%w``)."""


def wrap(prefix: str, exc: BaseException) -> SyncError:
    err = SyncError(f"{prefix}: {exc}")
    err.__cause__ = exc
    return err


def find_retry(exc: BaseException | None) -> RetryError | None:
    """``errors.As(err, *RetryError)``: walk the cause chain."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, RetryError):
            return exc
        exc = exc.__cause__
        seen += 1
    return None
