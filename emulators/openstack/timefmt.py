"""Timestamps as the services write them (Neutron and Nova: ``...Z``; Octavia: no zone suffix)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_seconds() -> str:
    """Neutron/Nova: ``2025-01-31T12:00:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_octavia() -> str:
    """Octavia: ``2025-01-31T12:00:00`` (naive UTC, as its database returns it)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
