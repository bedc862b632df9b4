"""The emulated ARM: subscriptions -> resource groups -> resources, apart from the wire.

Everything here is plain Python under one lock; ``wire.py`` translates HTTP into these calls.
Tests use the same object in process to seed what a real subscription already holds (virtual
networks, VMs and their NICs), to look at what the adapter built (:meth:`ArmState.inventory`,
:meth:`ArmState.dump`) and to reset between tests (:meth:`ArmState.reset`).

ARM semantics kept here:

* PUT replaces the whole resource (child collections included); read-only properties in the
  body are ignored; server-filled ones (ids, etags, provisioning state, allocated addresses,
  back-references) are computed. Every write gives the resource (and its children) a new ETag;
  ``If-Match``/``If-None-Match`` are checked against it (412 ``PreconditionFailed``).
* Writes are long-running operations: the resource reads ``provisioningState: Updating`` until
  its operation finishes (``lro_seconds`` after the request; 0 = at the next read), then
  ``Succeeded``, or ``Failed`` when the operation was made to fail. A DELETE removes the
  resource at once and answers with an operation too.
* IDs compare without regard to case; the first write's casing is what reads show.
"""

from __future__ import annotations

import builtins
import dataclasses
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from . import errors, schema
from .ids import ResourceId, key_of, valid_name, valid_resource_group
from .kinds import Body, Kind, fill_children, props
from .schema import copy_json

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-00000000a2e0"
DEFAULT_LOCATION = "eastus"


@dataclasses.dataclass
class Operation:
    """One long-running operation (``Azure-AsyncOperation`` target)."""

    id: str
    resource_key: str
    action: str  # "put" | "delete"
    due: float
    error: errors.ArmError | None = None
    done: bool = False

    @property
    def status(self) -> str:
        if not self.done:
            return "InProgress"
        return "Failed" if self.error else "Succeeded"


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    """``referrer`` (the nearest enclosing object with an id) points at some target."""

    referrer: str
    obj: dict[str, Any]
    top: str  # key of the top-level resource holding the referrer


class ArmState:
    """All resources of the emulated subscriptions."""

    def __init__(self, *, subscription: str = DEFAULT_SUBSCRIPTION, location: str = DEFAULT_LOCATION,
                 strict: bool = True, lro_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from .registry import KINDS  # the kinds import this module's types

        self.kinds: dict[str, Kind] = KINDS
        self.default_subscription = subscription
        self.default_location = location
        #: reject unknown properties in request bodies (ARM drops them silently)
        self.strict = strict
        #: how long a write stays ``Updating`` before its operation ends
        self.lro_seconds = lro_seconds
        self.clock = clock
        self.lock = threading.RLock()
        self._initial_subscription = subscription
        self.reset()

    # ------------------------------------------------------------------ lifecycle / seeding

    def reset(self) -> None:
        """Forget every resource, group and operation (back to one empty subscription)."""
        with self.lock:
            self.subscriptions: dict[str, str] = {}
            self.resource_groups: dict[tuple[str, str], dict[str, str]] = {}
            self.resources: dict[str, Body] = {}
            self.operations: dict[str, Operation] = {}
            self._latest_op: dict[str, str] = {}
            self._version = 0
            self._refs: tuple[int, dict[str, builtins.list[Reference]]] | None = None
            self._public_ips = _AddressPool(_PUBLIC_RANGES)
            self.add_subscription(self._initial_subscription)

    def add_subscription(self, subscription: str) -> None:
        with self.lock:
            self.subscriptions[subscription.lower()] = subscription

    def add_resource_group(self, name: str, location: str | None = None,
                           subscription: str | None = None) -> str:
        """Create a resource group (the emulator does not serve resource-group writes)."""
        sub = subscription or self.default_subscription
        if not valid_resource_group(name):
            raise errors.InvalidParameter(f"Resource group name {name!r} is invalid.")
        with self.lock:
            self.add_subscription(sub)
            self.resource_groups[(sub.lower(), name.lower())] = {
                "name": name, "location": location or self.default_location, "subscription": sub}
        return f"/subscriptions/{sub}/resourceGroups/{name}"

    def resource_id(self, resource_group: str, namespace: str, *path: tuple[str, str],
                    subscription: str | None = None) -> ResourceId:
        return ResourceId.build(subscription or self.default_subscription, resource_group, namespace, *path)

    def seed(self, rid: ResourceId | str, body: Body) -> Body:
        """Create or replace a resource as its owner would, bypassing wire-level read-only rules.

        Used for what exists before the controller runs: virtual networks, VMs, NICs, a
        user's public IP or a foreign load balancer. Domain rules still apply.
        """
        rid = _as_id(rid)
        _, _, op = self._put(rid, body, if_match=None, if_none_match=None, seeding=True)
        with self.lock:
            self._finish(op)
        return self.get(rid)

    # ------------------------------------------------------------------ reads

    def get(self, rid: ResourceId | str) -> Body:
        rid = _as_id(rid)
        with self.lock:
            self._settle()
            self._check_scope(rid)
            top = self.resources.get(rid.top.key)
            if top is None:
                raise errors.ResourceNotFound(str(rid))
            kind = self._kind(rid.top)
            rendered = kind.render(self, rid.top, copy_json(top))
            if len(rid.path) == 1:
                return rendered
            return _find_child(rendered, rid)

    def exists(self, rid: ResourceId | str) -> bool:
        try:
            self.get(rid)
            return True
        except errors.ArmError:
            return False

    def list(self, subscription: str, resource_group: str | None, rtype: str) -> builtins.list[Body]:
        """Every resource of one type in a group (or the whole subscription)."""
        with self.lock:
            self._settle()
            if subscription.lower() not in self.subscriptions:
                raise errors.SubscriptionNotFound(subscription)
            if resource_group is not None and (subscription.lower(), resource_group.lower()) \
                    not in self.resource_groups:
                raise errors.ResourceGroupNotFound(resource_group)
            kind = self.kinds.get(rtype.lower())
            if kind is None:
                raise errors.InvalidResourceType(f"The resource type '{rtype}' could not be found.")
            out = []
            prefix = f"/subscriptions/{subscription}/".lower()
            if resource_group is not None:
                prefix += f"resourcegroups/{resource_group}/".lower()
            for key, body in self.resources.items():
                rid = ResourceId.parse(body["id"])
                if key.startswith(prefix) and rid is not None and rid.type_key == rtype.lower():
                    out.append(kind.render(self, rid, copy_json(body)))
            return out

    def list_children(self, parent: ResourceId | str, child_type: str) -> builtins.list[Body]:
        parent = _as_id(parent)
        top = self.get(parent)
        kind = self._kind(parent)
        prop = kind.children.get(child_type.lower())
        if prop is None:
            raise errors.InvalidResourceType(
                f"The resource type '{parent.type}/{child_type}' could not be found.")
        return list(props(top).get(prop) or [])

    def inventory(self) -> builtins.list[str]:
        """The ID of every resource held, children included, sorted (for leak checks)."""
        with self.lock:
            self._settle()
            out: builtins.list[str] = []
            for body in self.resources.values():
                out.append(body["id"])
                kind = self.kinds[ResourceId.parse(body["id"]).type_key]  # type: ignore[union-attr]
                for prop in kind.children.values():
                    out.extend(c["id"] for c in props(body).get(prop) or [])
            return sorted(out, key=str.lower)

    def dump(self) -> dict[str, Body]:
        """A deep copy of every stored top-level resource, by ID (as GET renders them)."""
        with self.lock:
            return {b["id"]: self.get(b["id"]) for b in list(self.resources.values())}

    # ------------------------------------------------------------------ writes

    def put(self, rid: ResourceId | str, body: Body, *, if_match: str | None = None,
            if_none_match: str | None = None, fail: errors.ArmError | None = None,
            ) -> tuple[Body, bool, Operation]:
        """Create or replace; returns (rendered body, created, operation)."""
        return self._put(_as_id(rid), body, if_match=if_match, if_none_match=if_none_match,
                         fail=fail)

    def patch_tags(self, rid: ResourceId | str, body: Body) -> Body:
        """``PATCH`` with ``{"tags": {...}}`` (UpdateTags): replaces the tags only."""
        rid = _as_id(rid)
        with self.lock:
            self._settle()
            self._check_scope(rid)
            if self.strict:
                _raise_problems(schema.problems(schema.MODELS["tags"], body))
            stored = self.resources.get(rid.key)
            if stored is None or len(rid.path) != 1:
                raise errors.ResourceNotFound(str(rid))
            stored["tags"] = dict(body.get("tags") or {})
            self._new_etag(rid, stored)
            self.touch()
        return self.get(rid)

    def delete(self, rid: ResourceId | str, *, if_match: str | None = None,
               fail: errors.ArmError | None = None) -> Operation | None:
        """Delete; None when there was nothing to delete (the wire answers 204)."""
        rid = _as_id(rid)
        with self.lock:
            self._settle()
            self._check_scope(rid)
            kind = self._kind(rid.top)
            if len(rid.path) > 1:
                return self._delete_child(rid, kind, if_match, fail)
            if not kind.writable:
                raise errors.MethodNotAllowed(f"The resource type '{kind.type}' is read-only here.")
            stored = self.resources.get(rid.key)
            if stored is None:
                return None
            _check_preconditions(stored.get("etag"), if_match, None)
            kind.check_delete(self, rid, stored)
            del self.resources[rid.key]
            self.touch()
            self._latest_op.pop(rid.key, None)
            return self._start(rid.key, "delete", fail)

    # ------------------------------------------------------------------ operations

    def operation(self, op_id: str) -> Operation:
        with self.lock:
            self._settle()
            op = self.operations.get(op_id)
            if op is None:
                raise errors.NotFound(f"Operation {op_id} was not found.")
            return op

    def finish_operations(self) -> None:
        """End every pending operation now (tests that use a long ``lro_seconds``)."""
        with self.lock:
            for op in list(self.operations.values()):
                self._finish(op)

    # ------------------------------------------------------------------ helpers for kinds

    def location_of_group(self, rid: ResourceId) -> str:
        rg = self.resource_groups[(rid.subscription.lower(), rid.resource_group.lower())]
        return rg["location"]

    def lookup(self, id_text: str) -> Body | None:
        """The stored resource or child an ID names (not rendered), or None."""
        rid = ResourceId.parse(id_text)
        if rid is None:
            return None
        top = self.resources.get(rid.top.key)
        if top is None or len(rid.path) == 1:
            return top
        try:
            return _find_child(top, rid)
        except errors.ArmError:
            return None

    def references(self) -> dict[str, builtins.list[Reference]]:
        """target key -> who points at it, over every stored resource (one walk per change)."""
        with self.lock:
            if self._refs is not None and self._refs[0] == self._version:
                return self._refs[1]
            index: dict[str, builtins.list[Reference]] = {}
            for top_key, body in self.resources.items():
                _walk_refs(body, body.get("id", ""), top_key, index)
            self._refs = (self._version, index)
            return index

    def touch(self) -> None:
        """Note a change made to ``resources`` directly (seeding); every write calls it."""
        with self.lock:
            self._version += 1

    def allocate_public_ip(self) -> str:
        used = {props(b).get("ipAddress") for b in self.resources.values()
                if b.get("type", "").lower() == "microsoft.network/publicipaddresses"}
        ip = self._public_ips.next_free(used)
        if ip is None:
            raise errors.PublicIPCountLimitReached(
                "Cannot create more than the emulator's public IP addresses for this subscription.")
        return ip

    # ------------------------------------------------------------------ internals

    def _put(self, rid: ResourceId, body: Body, *, if_match: str | None, if_none_match: str | None,
             fail: errors.ArmError | None = None, seeding: bool = False) -> tuple[Body, bool, Operation]:
        if not isinstance(body, dict):
            raise errors.InvalidRequestFormat("The request content must be a JSON object.")
        with self.lock:
            self._settle()
            self._check_scope(rid)
            kind = self._kind(rid.top)
            for t, name in rid.path:
                if not valid_name(name):
                    raise errors.InvalidResourceName(name, t)
            if len(rid.path) > 1:
                return self._put_child(rid, kind, body, if_match=if_match, if_none_match=if_none_match,
                                       fail=fail)
            if not kind.writable and not seeding:
                raise errors.MethodNotAllowed(
                    f"The emulator serves {kind.type} read-only; seed it through ArmState.seed().")
            old = self.resources.get(rid.key)
            _check_preconditions(old.get("etag") if old else None, if_match, if_none_match)
            model = schema.MODELS.get(rid.type_key)
            if self.strict and model is not None and not seeding:
                _raise_problems(schema.problems(model, body))
            clean = schema.writable(model, body) if model is not None else copy_json(body)
            new = self._envelope(rid, kind, clean, old)
            new = kind.normalize(self, rid, new, old)
            props(new)["provisioningState"] = "Updating"
            if old is not None and "resourceGuid" in props(old):
                props(new)["resourceGuid"] = props(old)["resourceGuid"]
            else:
                props(new).setdefault("resourceGuid", str(uuid.uuid4()))
            self._new_etag(rid, new, kind)
            self.resources[rid.key] = new
            self.touch()
            op = self._start(rid.key, "put", fail)
            return kind.render(self, rid, copy_json(new)), old is None, op

    def _put_child(self, rid: ResourceId, kind: Kind, body: Body, *, if_match: str | None,
                   if_none_match: str | None, fail: errors.ArmError | None,
                   ) -> tuple[Body, bool, Operation]:
        child_type = rid.path[-1][0].lower()
        if len(rid.path) != 2 or child_type not in kind.writable_children:
            raise errors.MethodNotAllowed(f"PUT is not supported on {rid.type} here.")
        top = self.resources.get(rid.top.key)
        if top is None:
            raise errors.ResourceNotFound(str(rid.top))
        prop = kind.children[child_type]
        items = props(top).get(prop) or []
        existing = next((c for c in items if c.get("name", "").lower() == rid.name.lower()), None)
        _check_preconditions(existing.get("etag") if existing else None, if_match, if_none_match)
        model = schema.MODELS.get(rid.type_key)
        if self.strict and model is not None:
            _raise_problems(schema.problems(model, body))
        child = schema.writable(model, body) if model is not None else copy_json(body)
        child["name"] = existing["name"] if existing else rid.name
        whole = copy_json(top)
        others = [c for c in props(whole).get(prop) or [] if c.get("name", "").lower() != rid.name.lower()]
        props(whole)[prop] = [*others, child]
        model_top = schema.MODELS.get(rid.top.type_key)
        whole = schema.writable(model_top, whole) if model_top else whole
        rendered, _, op = self._put(rid.top, whole, if_match=None, if_none_match=None, fail=fail,
                                    seeding=True)
        return _find_child(rendered, rid), existing is None, op

    def _delete_child(self, rid: ResourceId, kind: Kind, if_match: str | None,
                      fail: errors.ArmError | None) -> Operation | None:
        child_type = rid.path[-1][0].lower()
        if len(rid.path) != 2 or child_type not in kind.writable_children:
            raise errors.MethodNotAllowed(f"DELETE is not supported on {rid.type} here.")
        top = self.resources.get(rid.top.key)
        if top is None:
            return None
        prop = kind.children[child_type]
        items = props(top).get(prop) or []
        existing = next((c for c in items if c.get("name", "").lower() == rid.name.lower()), None)
        if existing is None:
            return None
        _check_preconditions(existing.get("etag"), if_match, None)
        whole = copy_json(top)
        props(whole)[prop] = [c for c in items if c.get("name", "").lower() != rid.name.lower()]
        model_top = schema.MODELS.get(rid.top.type_key)
        whole = schema.writable(model_top, whole) if model_top else whole
        _, _, op = self._put(rid.top, whole, if_match=None, if_none_match=None, fail=fail, seeding=True)
        return op

    def _envelope(self, rid: ResourceId, kind: Kind, clean: Body, old: Body | None) -> Body:
        new = dict(clean)
        new["id"] = old["id"] if old else str(rid)
        new["name"] = old["name"] if old else rid.name
        new["type"] = kind.type
        if kind.tracked:
            location = clean.get("location")
            if not location:
                raise errors.LocationRequired()
            location = str(location).replace(" ", "").lower()
            if old is not None and old.get("location") != location:
                raise errors.InvalidParameter(
                    f"Resource {old['id']} exists in location '{old.get('location')}'; "
                    f"its location cannot change to '{location}'.")
            new["location"] = location
            tags = clean.get("tags") or {}
            if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
                raise errors.InvalidRequestFormat("Tags must be an object of strings.")
            new["tags"] = dict(tags)
        props(new)
        return new

    def _new_etag(self, rid: ResourceId, body: Body, kind: Kind | None = None) -> None:
        etag = f'W/"{uuid.uuid4()}"'
        body["etag"] = etag
        fill_children(rid, body, kind or self._kind(rid), etag)

    def _kind(self, rid: ResourceId) -> Kind:
        kind = self.kinds.get(rid.top.type_key)
        if kind is None:
            raise errors.InvalidResourceType(
                f"The resource type '{rid.top.type}' could not be found in the namespace "
                f"'{rid.namespace}' of the emulator.")
        return kind

    def _check_scope(self, rid: ResourceId) -> None:
        if rid.subscription.lower() not in self.subscriptions:
            raise errors.SubscriptionNotFound(rid.subscription)
        if (rid.subscription.lower(), rid.resource_group.lower()) not in self.resource_groups:
            raise errors.ResourceGroupNotFound(rid.resource_group)

    def _start(self, key: str, action: str, fail: errors.ArmError | None) -> Operation:
        op = Operation(id=str(uuid.uuid4()), resource_key=key, action=action,
                       due=self.clock() + self.lro_seconds, error=fail)
        self.operations[op.id] = op
        if action == "put":
            self._latest_op[key] = op.id
        return op

    def _settle(self) -> None:
        now = self.clock()
        for op in list(self.operations.values()):
            if not op.done and op.due <= now:
                self._finish(op)

    def _finish(self, op: Operation) -> None:
        if op.done:
            return
        op.done = True
        stored = self.resources.get(op.resource_key)
        if stored is not None and self._latest_op.get(op.resource_key) == op.id:
            state = "Failed" if op.error else "Succeeded"
            props(stored)["provisioningState"] = state


# ---------------------------------------------------------------------------------------------


def _as_id(rid: ResourceId | str) -> ResourceId:
    if isinstance(rid, ResourceId):
        return rid
    parsed = ResourceId.parse(rid)
    if parsed is None:
        raise errors.InvalidParameter(f"{rid!r} is not a resource ID.")
    return parsed


def _find_child(top: Body, rid: ResourceId) -> Body:
    node: Any = top
    for child_type, name in rid.path[1:]:
        items = next((v for k, v in props(node).items() if k.lower() == child_type.lower()
                      and isinstance(v, list)), None)
        found = next((c for c in items or [] if str(c.get("name", "")).lower() == name.lower()), None)
        if found is None:
            raise errors.ResourceNotFound(str(rid))
        node = found
    return dict(node)


def _check_preconditions(etag: str | None, if_match: str | None, if_none_match: str | None) -> None:
    if if_match is not None:
        if etag is None:
            raise errors.PreconditionFailed("The resource does not exist; If-Match cannot be satisfied.")
        if if_match.strip() != "*" and _bare(if_match) != _bare(etag):
            raise errors.PreconditionFailed(
                f"The specified If-Match {if_match} does not match the current ETag {etag}; "
                "the resource was modified. Read it again and retry.")
    if if_none_match is not None and etag is not None and (
            if_none_match.strip() == "*" or _bare(if_none_match) == _bare(etag)):
        raise errors.PreconditionFailed("The resource already exists (If-None-Match).")


def _bare(etag: str) -> str:
    e = etag.strip()
    if e.startswith("W/"):
        e = e[2:]
    return e.strip('"')


def _raise_problems(found: list[str]) -> None:
    if found:
        raise errors.InvalidRequestContent(
            "The request content was invalid and could not be deserialized: " + "; ".join(found[:5]))


def _walk_refs(node: Any, owner: str, top: str, index: dict[str, list[Reference]],
               owner_obj: dict[str, Any] | None = None) -> None:
    if isinstance(node, dict):
        own = node.get("id")
        if set(node) == {"id"} and isinstance(own, str):
            index.setdefault(key_of(own), []).append(Reference(owner, owner_obj or {}, top))
            return
        if isinstance(own, str) and ("name" in node or "properties" in node):
            owner, owner_obj = own, node
        for v in node.values():
            _walk_refs(v, owner, top, index, owner_obj)
    elif isinstance(node, list):
        for v in node:
            _walk_refs(v, owner, top, index, owner_obj)


#: Public addresses handed out: the three documentation ranges (RFC 5737), never routed.
_PUBLIC_RANGES = ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")


class _AddressPool:
    def __init__(self, cidrs: tuple[str, ...]) -> None:
        import ipaddress

        self._addrs = [str(a) for c in cidrs for a in ipaddress.ip_network(c).hosts()]
        self._cursor = itertools.count()

    def next_free(self, used: set[Any]) -> str | None:
        for _ in range(len(self._addrs)):
            ip = self._addrs[next(self._cursor) % len(self._addrs)]
            if ip not in used:
                return ip
        return None


def iter_children(body: Body, kind: Kind) -> Iterator[tuple[str, Body]]:
    for prop in kind.children.values():
        for c in props(body).get(prop) or []:
            yield prop, c
