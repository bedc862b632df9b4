"""metav1.Time and metav1.MicroTime: parse RFC 3339 as Go does, re-serialise canonically.

Clients send offsets ("+00:00") and arbitrary precision; kube-apiserver stores the instant
and always writes UTC with a "Z": whole seconds for Time, microseconds for MicroTime.
"""

from __future__ import annotations

import datetime
from typing import Any

from ccm.apiserver.errors import bad_request


def parse(value: str) -> datetime.datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" as '
                          f'"2006"') from None
    if parsed.tzinfo is None:
        raise bad_request(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"')
    return parsed.astimezone(datetime.UTC)


def normalize(container: Any, key: str, micro: bool = False) -> None:
    """Rewrite ``container[key]`` in canonical form when it is a time string."""
    if not isinstance(container, dict):
        return
    value = container.get(key)
    if isinstance(value, str) and value:
        t = parse(value)
        container[key] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if micro else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_conditions(conditions: Any, *keys: str) -> None:
    if isinstance(conditions, list):
        for c in conditions:
            for k in keys:
                normalize(c, k)
