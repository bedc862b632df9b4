"""The shared retry policy for throttled cloud calls.

SDKs retry throttling themselves to some extent (botocore's standard mode, google-api-core's
retry on 429); what survives that is retried here a few times with capped exponential backoff,
and then handed to the controller as :class:`~providers.port.RetryError` so the Service is
requeued at a fixed delay rather than failing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from providers.port import RetryError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; between them ``base_delay * 2**n`` seconds, at most ``max_delay``.

    When the last try is still throttled, :meth:`run` raises RetryError asking the controller
    to come back after ``retry_after`` seconds.
    """

    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 10.0
    retry_after: float = 10.0
    #: injectable for tests (never a real sleep there)
    sleep: Callable[[float], None] = dataclasses.field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def run(self, call: Callable[[], T], throttled: Callable[[BaseException], bool], what: str = "call") -> T:
        for attempt in range(1, max(1, self.attempts) + 1):
            try:
                return call()
            except Exception as exc:
                if not throttled(exc):
                    raise
                if attempt >= self.attempts:
                    raise RetryError(f"{what} still throttled after {attempt} attempts: {exc}",
                                     self.retry_after) from exc
                wait = self.delay(attempt)
                log.info("%s throttled (attempt %d of %d); retrying in %.1fs", what, attempt, self.attempts, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")


#: for SDKs that already retried throttling as configured: one try, then RetryError
SDK_RETRIES_ONLY = RetryPolicy(attempts=1)
