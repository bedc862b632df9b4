"""ARM resource IDs: parsing, building and case-insensitive keys.

An ARM ID is ``/subscriptions/{sub}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}``
optionally followed by ``/{childType}/{childName}`` pairs. ARM compares IDs without regard to
case (resource group, namespace, type and name alike), so the emulator keys everything by the
lower-cased ID and keeps the casing of the first write for display, as ARM does.
"""

from __future__ import annotations

import dataclasses
import re

_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/(?P<ns>[^/]+)/(?P<rest>[^?#]+?)/?$",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceId:
    """A parsed ARM ID. ``path`` alternates type and name: ``(("loadBalancers", "lb"), ...)``."""

    subscription: str
    resource_group: str
    namespace: str
    path: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> ResourceId | None:
        """The ID, or None when ``text`` is not a well-formed resource ID."""
        m = _ID_RE.match(text or "")
        if not m:
            return None
        parts = m.group("rest").split("/")
        if len(parts) % 2 or not all(parts):
            return None
        pairs = tuple((parts[i], parts[i + 1]) for i in range(0, len(parts), 2))
        return cls(m.group("sub"), m.group("rg"), m.group("ns"), pairs)

    @classmethod
    def build(cls, subscription: str, resource_group: str, namespace: str,
              *path: tuple[str, str]) -> ResourceId:
        return cls(subscription, resource_group, namespace, tuple(path))

    @property
    def name(self) -> str:
        return self.path[-1][1]

    @property
    def type(self) -> str:
        """``Microsoft.Network/loadBalancers/probes`` style type of this resource."""
        return "/".join([self.namespace, *(t for t, _ in self.path)])

    @property
    def type_key(self) -> str:
        """The lower-cased type, used to pick the resource kind."""
        return self.type.lower()

    @property
    def parent(self) -> ResourceId | None:
        """The enclosing resource of a child resource, None for a top-level one."""
        if len(self.path) == 1:
            return None
        return dataclasses.replace(self, path=self.path[:-1])

    @property
    def top(self) -> ResourceId:
        return dataclasses.replace(self, path=self.path[:1])

    def child(self, child_type: str, name: str) -> ResourceId:
        return dataclasses.replace(self, path=(*self.path, (child_type, name)))

    def __str__(self) -> str:
        tail = "/".join(f"{t}/{n}" for t, n in self.path)
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/{self.namespace}/{tail}")

    @property
    def key(self) -> str:
        """Case-insensitive identity."""
        return str(self).lower()


def key_of(text: str) -> str:
    """Case-insensitive identity of an ID given as text (tolerates a trailing slash)."""
    return text.rstrip("/").lower()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and key_of(a) == key_of(b)


#: ARM's rule for Microsoft.Network resource names: 1-80 characters, begins with a letter or
#: digit, ends with a letter, digit or underscore, and holds only letters, digits, underscores,
#: periods and hyphens.
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")

#: Resource group names: 1-90 characters of letters, digits, underscores, parentheses, hyphens
#: and periods (not ending in a period).
_RG_RE = re.compile(r"^[-\w.()]{0,89}[-\w()]$")


def valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))


def valid_resource_group(name: str) -> bool:
    return bool(_RG_RE.match(name))
