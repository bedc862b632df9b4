"""What every resource type of the emulator declares (the moto ``models.py`` role, per type).

A :class:`Kind` turns a client's PUT body into the stored resource (``normalize``: ARM's
validation and the server-filled properties), refuses deletions ARM refuses
(``check_delete``), and adds the read-only back-references ARM computes on every read
(``render``: a public IP's ``ipConfiguration``, a pool's ``backendIPConfigurations``...).
Kinds never touch the HTTP layer; the store (``state.py``) calls them under its lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .ids import ResourceId

if TYPE_CHECKING:
    from .state import ArmState

Body = dict[str, Any]


class Kind:
    """Defaults for a resource type; subclasses override what their type enforces."""

    #: ARM type, e.g. ``Microsoft.Network/loadBalancers``
    type: str = ""
    #: tracked (top-level) resources carry a location and tags
    tracked: bool = True
    #: False for types the emulator serves read-only over the wire (VMs, virtual networks)
    writable: bool = True
    #: lower-cased child type -> the ``properties`` list that holds those children
    children: dict[str, str] = {}
    #: child types (lower-cased) that may be PUT/DELETE on their own URL
    writable_children: frozenset[str] = frozenset()

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        """The resource to store for this PUT (``body`` holds writable properties only)."""
        return body

    def check_delete(self, state: ArmState, rid: ResourceId, stored: Body) -> None:
        """Raise an :class:`ArmError` when ARM would refuse to delete this resource."""

    def render(self, state: ArmState, rid: ResourceId, stored: Body) -> Body:
        """The body a GET returns (``stored`` is a copy the kind may change)."""
        return stored


def props(body: Body) -> Body:
    """The ``properties`` envelope of a body, created when absent."""
    p = body.get("properties")
    if not isinstance(p, dict):
        p = {}
        body["properties"] = p
    return p


def ref_id(value: Any) -> str | None:
    """The ``id`` of a ``{"id": ...}`` reference, or None."""
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def fill_children(rid: ResourceId, body: Body, kind: Kind, etag: str | None = None) -> None:
    """Give each child of ``body`` its ARM id, type, etag and provisioning state.

    Child names must be unique per collection (case-insensitively), as ARM requires.
    """
    p = props(body)
    for prop in kind.children.values():
        items = p.get(prop)
        if items is None:
            continue
        seen: set[str] = set()
        for item in items:
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise errors.InvalidRequestFormat(f"Every entry of {prop} needs a name.")
            if name.lower() in seen:
                raise errors.DuplicateResourceName(str(rid), prop, name)
            seen.add(name.lower())
            item["id"] = str(rid.child(prop, name))
            item["type"] = f"{kind.type}/{prop}"
            if etag:
                item["etag"] = etag
            props(item)["provisioningState"] = "Succeeded"
