"""Resource references as the adapter writes them (``projects/<p>/...`` paths) and compares them.

Compute Engine answers with full URLs (``https://www.googleapis.com/compute/v1/projects/...``)
and accepts paths; comparisons use the path form of both.
"""

from __future__ import annotations

from typing import Any


def path(value: str) -> str:
    """A URL or path -> ``projects/...`` (unchanged when it is neither)."""
    i = value.find("projects/")
    return value[i:] if i >= 0 else value


def regional(project: str, region: str, collection: str, name: str) -> str:
    return f"projects/{project}/regions/{region}/{collection}/{name}"


def global_(project: str, collection: str, name: str) -> str:
    return f"projects/{project}/global/{collection}/{name}"


def zonal(project: str, zone: str, collection: str, name: str) -> str:
    return f"projects/{project}/zones/{zone}/{collection}/{name}"


def normalise(value: Any) -> Any:
    """Links as paths, recursively (what a desired body is compared with)."""
    if isinstance(value, str) and "/compute/v1/" in value:
        return path(value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value
