"""Timestamps in the form Compute Engine writes them (RFC 3339 with milliseconds and an offset)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}-00:00"
