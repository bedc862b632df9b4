"""Resource links: how Compute Engine names a resource, and how it accepts references to one.

A resource is ``(project, scope, collection, name)`` with ``scope`` one of ``global``,
``regions/<r>`` or ``zones/<z>``. Responses carry full ``selfLink`` URLs on Google's canonical
base (as the real API does, whatever host served the request); requests may refer to resources
by a full URL on any host, by ``projects/...`` or by a scope-relative path (``regions/...``,
``global/...``, ``zones/...``), all of which Compute Engine accepts.
"""

from __future__ import annotations

import re
from typing import NamedTuple

BASE = "https://www.googleapis.com/compute/v1/"

#: Compute Engine resource names (RFC 1035), the pattern the API reports in its error message
NAME_PATTERN = r"(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)"
NAME_RE = re.compile(NAME_PATTERN + r"\Z")

_SCOPED = re.compile(r"(global|regions/[^/]+|zones/[^/]+)/([A-Za-z]+)/([^/?#]+)\Z")


class Ref(NamedTuple):
    project: str
    scope: str
    collection: str
    name: str

    @property
    def path(self) -> str:
        return f"projects/{self.project}/{self.scope}/{self.collection}/{self.name}"

    @property
    def url(self) -> str:
        return BASE + self.path


def scope_url(project: str, scope: str) -> str:
    return f"{BASE}projects/{project}/{scope}"


def parse(value: str, project: str) -> Ref | None:
    """A reference in any accepted spelling -> ``Ref``, or None when it is not one."""
    text = value
    for marker in ("/compute/v1/", "/compute/beta/", "/compute/alpha/"):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    if text.startswith("projects/"):
        parts = text.split("/", 2)
        if len(parts) < 3:
            return None
        project, text = parts[1], parts[2]
    m = _SCOPED.match(text)
    if not m:
        return None
    return Ref(project, m.group(1), m.group(2), m.group(3))


def last(value: str) -> str:
    """The last path segment of a link (a zone or region name from its URL)."""
    return value.rstrip("/").rsplit("/", 1)[-1]
