"""The structure server-side apply merges by: structs, maps, lists (atomic, set or keyed), scalars.

Field names and types come from the official client's models, like the decode-time checks in
:mod:`ccm.apiserver.schema`. What the models do not say is how a list or map merges; upstream
takes that from the ``+listType``/``+listMapKey``/``+mapType``/``+structType`` markers in
k8s.io/api (published as ``x-kubernetes-list-type`` and friends in the OpenAPI). Lists without a
marker are atomic, maps and structs are granular. The markers of the types the served kinds
reach are stated below, keyed by the client's model name and the field's JSON name.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import typing
from typing import Any

from kubernetes.client import models

from ccm.apiserver.schema import _is_model, _unwrap


@dataclasses.dataclass(frozen=True)
class ListType:
    """``kind`` is ``atomic``, ``set`` (items are their own keys) or ``map`` (items keyed by ``keys``)."""

    kind: str
    keys: tuple[str, ...] = ()
    #: key fields' defaults (a ServicePort without protocol is keyed as TCP)
    defaults: tuple[tuple[str, Any], ...] = ()


ATOMIC = ListType("atomic")
SET = ListType("set")


def _map(*keys: str, **defaults: Any) -> ListType:
    return ListType("map", keys, tuple(defaults.items()))


#: x-kubernetes-list-type of the granular lists (every other list is atomic)
LIST_TYPES: dict[str, ListType] = {
    "V1ObjectMeta.finalizers": SET,
    "V1ObjectMeta.ownerReferences": _map("uid"),
    "V1ServiceSpec.ports": _map("port", "protocol", protocol="TCP"),
    "V1ServiceStatus.conditions": _map("type"),
    "V1NodeSpec.podCIDRs": SET,
    "V1NodeStatus.addresses": _map("type"),
    "V1NodeStatus.conditions": _map("type"),
    "V1NamespaceStatus.conditions": _map("type"),
    "V1ServiceAccount.secrets": _map("name"),
    "V1Endpoint.addresses": SET,
    "V1PodSpec.containers": _map("name"),
    "V1PodSpec.initContainers": _map("name"),
    "V1PodSpec.ephemeralContainers": _map("name"),
    "V1PodSpec.volumes": _map("name"),
    "V1PodSpec.imagePullSecrets": _map("name"),
    "V1PodSpec.hostAliases": _map("ip"),
    "V1PodSpec.schedulingGates": _map("name"),
    "V1PodSpec.resourceClaims": _map("name"),
    "V1PodSpec.topologySpreadConstraints": _map("topologyKey", "whenUnsatisfiable"),
    "V1Container.ports": _map("containerPort", "protocol", protocol="TCP"),
    "V1Container.env": _map("name"),
    "V1Container.volumeMounts": _map("mountPath"),
    "V1Container.volumeDevices": _map("devicePath"),
    "V1EphemeralContainer.ports": _map("containerPort", "protocol", protocol="TCP"),
    "V1EphemeralContainer.env": _map("name"),
    "V1EphemeralContainer.volumeMounts": _map("mountPath"),
    "V1EphemeralContainer.volumeDevices": _map("devicePath"),
    "V1PodStatus.conditions": _map("type"),
    "V1PodStatus.podIPs": _map("ip"),
    "V1PodStatus.hostIPs": _map("ip"),
}

#: +structType=atomic: owned and replaced as a whole
ATOMIC_STRUCTS = frozenset({"V1ObjectReference", "V1LocalObjectReference", "V1LabelSelector", "V1NodeSelector",
                            "V1TypedLocalObjectReference"})
#: +mapType=atomic
ATOMIC_MAPS = frozenset({"V1ServiceSpec.selector", "V1PodSpec.nodeSelector"})
#: top-level struct fields that are Go values, not pointers: present (empty) in a new object
VALUE_STRUCTS = ("spec", "status", "source", "involvedObject", "regarding", "deprecatedSource")


class Scalar:
    """A leaf: strings, numbers, booleans, IntOrString, Quantity, bytes."""

    atomic = True


class Untyped(Scalar):
    """A free-form value (RawExtension, FieldsV1): a leaf as far as ownership goes."""


@dataclasses.dataclass(eq=False)
class Map:
    """A struct (``fields`` known) or a map (``elem`` for every key); granular unless ``atomic``."""

    name: str
    atomic: bool = False
    elem: Any = None
    model: Any = None
    _fields: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    @property
    def fields(self) -> dict[str, Any]:
        """A struct's fields by JSON name (resolved on first use: the models are recursive)."""
        if self._fields is None:
            self._fields = _struct_fields(self.model) if self.model is not None else {}
        return self._fields

    def field_type(self, name: str) -> Any:
        """The type of a key; None for a struct field that does not exist."""
        return self.elem if self.model is None else self.fields.get(name)

    def has_field(self, name: str) -> bool:
        return self.model is not None and name in self.fields


@dataclasses.dataclass(eq=False)
class List:
    elem: Any
    type: ListType

    @property
    def atomic(self) -> bool:
        return self.type.kind == "atomic"


Type = Scalar | Map | List

_SCALAR = Scalar()
_UNTYPED = Untyped()


def _node(annotation: Any, owner: str, field: str) -> Type:
    t = _unwrap(annotation)
    where = f"{owner}.{field}"
    if isinstance(t, tuple):
        return _SCALAR  # IntOrString, bytes-or-string
    origin = typing.get_origin(t)
    if origin in (list, typing.List):  # noqa: UP006 - the generated models use typing.List
        return List(_node(typing.get_args(t)[0], owner, field), LIST_TYPES.get(where, ATOMIC))
    if origin in (dict, typing.Dict):  # noqa: UP006
        return Map(where, atomic=where in ATOMIC_MAPS, elem=_node(typing.get_args(t)[1], owner, field))
    if _is_model(t):
        return struct(t)
    if t in (str, int, bool, float, bytes, datetime.datetime, datetime.date):
        return _SCALAR
    return _UNTYPED


@functools.cache
def struct(model: type) -> Map:
    return Map(model.__name__, atomic=model.__name__ in ATOMIC_STRUCTS, model=model)


def _struct_fields(model: type) -> dict[str, Type]:
    return {info.serialization_alias or name: _node(info.annotation, model.__name__, info.serialization_alias or name)
            for name, info in model.model_fields.items()}  # type: ignore[attr-defined]


def for_model(model_name: str) -> Map | None:
    """The type of a served kind (``V1Service``), or None when the client has no such model."""
    model = getattr(models, model_name, None)
    return struct(model) if _is_model(model) else None


def empty_object(kind_type: Map, api_version: str, kind: str) -> dict[str, Any]:
    """A new object as Go's zero value shows it: metadata and the value (non-pointer) structs."""
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {}}
    for name in VALUE_STRUCTS:
        t = kind_type.field_type(name)
        if isinstance(t, Map) and not t.atomic:
            out[name] = {}
    return out
