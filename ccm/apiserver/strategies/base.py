"""The per-resource strategy interface (apiserver ``rest.RESTCreateStrategy`` and friends).

The generic driver (:mod:`ccm.apiserver.registry`) calls, in kube-apiserver's order:
create: ``default`` -> ``prepare_for_create`` -> ``begin_create`` (allocation) -> ``validate``;
update: ``default`` -> ``prepare_for_update`` (or ``prepare_for_status_update``) ->
``begin_update`` -> ``validate_update`` (or ``validate_status_update``);
delete: ``after_delete`` releases what the object held. ``validate*`` never mutate and
return every problem at once as field errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ccm.apiserver.allocators import Transaction
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.patch import Schema
from ccm.apiserver.validation import (
    NameValidator,
    name_any,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
)

Obj = dict[str, Any]

NAME_RULES: dict[str, NameValidator] = {
    "subdomain": name_is_dns_subdomain,
    "label": name_is_dns_label,
    "dns1035": name_is_dns1035_label,
    "any": name_any,
}


@dataclasses.dataclass
class Options:
    """Server-wide settings strategies read."""

    allow_loopback_endpoints: bool = False
    service_cidr: str = "10.96.0.0/12"
    node_port_range: tuple[int, int] = (30000, 32767)


def meta(obj: Obj) -> dict[str, Any]:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = obj["metadata"] = {}
    return m


def spec(obj: Obj) -> dict[str, Any]:
    s = obj.get("spec")
    if not isinstance(s, dict):
        s = obj["spec"] = {}
    return s


class Strategy:
    """Behaviour of one API resource; subclasses override what differs from the defaults."""

    group: ClassVar[str] = ""
    version: ClassVar[str] = "v1"
    plural: ClassVar[str] = ""
    singular: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    namespaced: ClassVar[bool] = True
    #: the official client's model for this kind: its fields are the ones the API knows
    model: ClassVar[str] = ""
    short_names: ClassVar[tuple[str, ...]] = ()
    categories: ClassVar[tuple[str, ...]] = ()
    #: the store bucket; two API versions of one resource share it (Events)
    storage: ClassVar[str] = ""
    has_status: ClassVar[bool] = False
    #: subresources other than status, served by the HTTP layer (serviceaccounts/token)
    extra_subresources: ClassVar[tuple[str, ...]] = ()
    allow_create_on_update: ClassVar[bool] = False
    allow_unconditional_update: ClassVar[bool] = True
    #: Services return the deleted object; most resources a Status
    return_deleted_object: ClassVar[bool] = False
    #: DELETE on the collection (Services and Namespaces do not have it)
    allow_delete_collection: ClassVar[bool] = True
    #: whether metadata.generation is maintained (only some resources do)
    tracks_generation: ClassVar[bool] = False
    #: metadata.name rule (NameIsDNSSubdomain unless the resource says otherwise)
    name_rule: ClassVar[str] = "subdomain"
    #: field selectors beyond metadata.name/metadata.namespace
    field_labels: ClassVar[tuple[str, ...]] = ()
    #: field-selector spellings mapped to the stored field (events.k8s.io)
    field_aliases: ClassVar[dict[str, str]] = {}
    schema: ClassVar[Schema] = {}
    #: sent as a Warning header on every request for this resource (deprecated APIs)
    deprecation: ClassVar[str] = ""
    #: fields that are not "spec" for generation purposes
    non_spec_fields: ClassVar[tuple[str, ...]] = ("kind", "apiVersion", "metadata", "status")

    def __init__(self, options: Options) -> None:
        self.options = options

    def name_errors(self, name: str, prefix: bool) -> list[str]:
        return NAME_RULES[self.name_rule](name, prefix)

    @property
    def bucket(self) -> str:
        return self.storage or self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    # ------------------------------------------------------------- conversion

    def to_external(self, obj: Obj) -> Obj:
        """Stored form -> this API version (identity unless two versions share storage)."""
        return obj

    def from_external(self, obj: Obj) -> Obj:
        return obj

    @property
    def converts(self) -> bool:
        return False

    # ------------------------------------------------------------- hooks

    def default(self, obj: Obj) -> None:
        """Scheme defaulting, applied to every decoded body (create, update, patch result)."""

    def prepare_for_create(self, obj: Obj) -> None:
        if self.has_status:
            obj["status"] = {}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        if "spec" in old:
            new["spec"] = old["spec"]
        else:
            new.pop("spec", None)

    def begin_create(self, obj: Obj, txn: Transaction) -> None:
        """Allocate what the object needs; raise APIError on failure."""

    def begin_update(self, new: Obj, old: Obj, txn: Transaction) -> None:
        pass

    def after_delete(self, obj: Obj) -> None:
        pass

    def validate(self, obj: Obj) -> list[FieldError]:
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self.validate(new)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        keys = (set(new) | set(old)) - set(self.non_spec_fields)
        return any(new.get(k) != old.get(k) for k in keys)

    # ------------------------------------------------------------- selection

    def fields(self, obj: Obj) -> dict[str, str]:
        m = obj.get("metadata") or {}
        out = {"metadata.name": m.get("name", "")}
        if self.namespaced:
            out["metadata.namespace"] = m.get("namespace", "")
        out.update(self.extra_fields(obj))
        return out

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        return {}

    def supported_fields(self) -> tuple[str, ...]:
        base = ("metadata.name", "metadata.namespace") if self.namespaced else ("metadata.name",)
        return base + self.field_labels

    def bookmark(self, rv: int) -> Obj:
        """The object a BOOKMARK event carries: only kind, apiVersion and the revision.

        (A zero creationTimestamp is omitted since ObjectMeta's ``omitzero`` tag, not sent as null.)
        """
        return {"kind": self.kind, "apiVersion": self.api_version, "metadata": {"resourceVersion": str(rv)}}


def dig(obj: Any, *path: str) -> Any:
    """obj[a][b]... or None, tolerating missing or non-dict levels."""
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def str_field(obj: Any, *path: str) -> str:
    v = dig(obj, *path)
    return v if isinstance(v, str) else ("" if v is None else str(v))
