"""JSON-shaped objects <-> Kubernetes protobuf (``application/vnd.kubernetes.protobuf``).

The wire format is the ``runtime.Unknown`` envelope behind the 4-byte magic ``k8s\\x00``:
``typeMeta`` (apiVersion, kind), ``raw`` (the kind's message) and two empty content fields.
Messages come from :mod:`schema` through the ``protobuf`` library's descriptor pool; the
conversion to and from the dicts the registry keeps is written here because Kubernetes'
JSON is not protobuf's JSON mapping: ``Time`` is an RFC 3339 string, ``IntOrString`` a
number or a string, ``Quantity`` a string, ``RawExtension``/``FieldsV1`` embedded JSON,
``[]byte`` base64, and zero values of non-pointer fields are omitted.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from ccm.apiserver.protobuf.schema import KINDS, MESSAGES, NON_LIST_KINDS, PACKAGES

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_SCALARS = {
    "s": FieldDescriptor.TYPE_STRING, "i32": FieldDescriptor.TYPE_INT32, "i64": FieldDescriptor.TYPE_INT64,
    "b": FieldDescriptor.TYPE_BOOL, "y": FieldDescriptor.TYPE_BYTES,
}
_ORDER = ("runtime", "intstr", "resource", "meta", "core", "authentication", "discovery", "events", "coordination")
_TIME = "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
_MICRO_TIME = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"
_INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
_RAW_JSON = {"k8s.io.apimachinery.pkg.runtime.RawExtension": "raw",
             "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "Raw"}


class CodecError(ValueError):
    """A body that is not a Kubernetes protobuf message of a kind served here."""


# ------------------------------------------------------------------ descriptors


def _qualify(ref: str, package: str) -> str:
    """``Time`` in package meta -> ``.k8s.io...meta.v1.Time``; ``core.ObjectReference`` as given."""
    go_pkg, _, name = ref.rpartition(".")
    return f".{PACKAGES[go_pkg or package]}.{name}"


def _add_field(msg: descriptor_pb2.DescriptorProto, package: str, name: str, number: int, typ: str) -> None:
    field = msg.field.add(name=name, number=number, json_name=name, label=FieldDescriptor.LABEL_OPTIONAL)
    if typ.startswith("{"):
        entry = msg.nested_type.add(name=name[0].upper() + name[1:] + "Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, label=FieldDescriptor.LABEL_OPTIONAL, type=FieldDescriptor.TYPE_STRING)
        _add_field(entry, package, "value", 2, typ[1:-1])
        field.label = FieldDescriptor.LABEL_REPEATED
        field.type = FieldDescriptor.TYPE_MESSAGE
        field.type_name = f".{PACKAGES[package]}.{msg.name}.{entry.name}"
        return
    if typ.startswith("["):
        field.label = FieldDescriptor.LABEL_REPEATED
        typ = typ[1:-1]
    if typ in _SCALARS:
        field.type = _SCALARS[typ]  # type: ignore[assignment]
    else:
        field.type = FieldDescriptor.TYPE_MESSAGE
        field.type_name = _qualify(typ, package)


def _list_kinds() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for (_, kind), qname in KINDS.items():
        if kind not in NON_LIST_KINDS and qname not in out.setdefault(qname.split(".")[0], []):
            out[qname.split(".")[0]].append(qname)
    return out


@functools.cache
def _pool() -> tuple[descriptor_pool.DescriptorPool, frozenset[tuple[str, str]]]:
    """The descriptor pool built from the schema, and the (message, field) pairs kept when zero."""
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    keep_zero: set[tuple[str, str]] = set()
    for qname, spec in MESSAGES.items():
        package, name = qname.split(".")
        fdp = files.setdefault(package, descriptor_pb2.FileDescriptorProto(
            name=f"ccm/{package}.proto", package=PACKAGES[package], syntax="proto2"))
        msg = fdp.message_type.add(name=name)
        for token in spec.split():
            field, number, *typ = token.split(":", 2)
            if field.endswith("?"):
                field = field[:-1]
                keep_zero.add((f"{PACKAGES[package]}.{name}", field))
            _add_field(msg, package, field, int(number), typ[0] if typ else "s")
    for package, qnames in _list_kinds().items():
        for qname in qnames:
            kind = qname.split(".")[1]
            msg = files[package].message_type.add(name=f"{kind}List")
            _add_field(msg, package, "metadata", 1, "meta.ListMeta")
            _add_field(msg, package, "items", 2, f"[{kind}]")
    for package in _ORDER:
        if package == "meta":
            files[package].dependency.append("ccm/runtime.proto")
        elif package not in ("runtime", "intstr", "resource"):
            files[package].dependency.extend(f"ccm/{p}.proto" for p in ("meta", "intstr", "resource", "core")
                                             if p != package)
    pool = descriptor_pool.DescriptorPool()
    for package in _ORDER:
        pool.Add(files[package])
    return pool, frozenset(keep_zero)


@functools.cache
def _message_class(full_name: str) -> type[Message]:
    return message_factory.GetMessageClass(_pool()[0].FindMessageTypeByName(full_name))


def _kind_message(api_version: str, kind: str) -> str | None:
    """The protobuf message of a kind (``ServiceList`` included), or None if not served."""
    qname = KINDS.get((api_version, kind))
    if qname is None and kind.endswith("List"):
        base = KINDS.get((api_version, kind[:-4]))
        if base is not None and kind[:-4] not in NON_LIST_KINDS:
            qname = base + "List"
    if qname is None:
        return None
    package, name = qname.split(".")
    return f"{PACKAGES[package]}.{name}"


def supports(api_version: str, kind: str) -> bool:
    return _kind_message(api_version, kind) is not None


# ------------------------------------------------------------------ dict -> message


def _format_time(seconds: int, nanos: int, micro: bool) -> str:
    t = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> tuple[int, int]:
    t = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.UTC)
    return int(t.timestamp() // 1), t.microsecond * 1000


def _fill_special(msg: Message, value: Any) -> bool:
    name = msg.DESCRIPTOR.full_name
    if name in (_TIME, _MICRO_TIME):
        msg.seconds, msg.nanos = _parse_time(value)  # type: ignore[attr-defined]
    elif name == _INT_OR_STRING:
        if isinstance(value, str):
            msg.type, msg.strVal = 1, value  # type: ignore[attr-defined]
        else:
            msg.type, msg.intVal = 0, int(value)  # type: ignore[attr-defined]
    elif name == _QUANTITY:
        msg.string = str(value)  # type: ignore[attr-defined]
    elif name in _RAW_JSON:
        setattr(msg, _RAW_JSON[name], json.dumps(value, separators=(",", ":")).encode())
    else:
        return False
    return True


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    if field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{field.name}: not an integer")
        return value
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool(value)
    return value if isinstance(value, str) else str(value)


def _fill(msg: Message, value: Any) -> None:
    """Set ``msg`` from a JSON value (fields the schema does not have are left out)."""
    msg.SetInParent()
    if _fill_special(msg, value):
        return
    if not isinstance(value, Mapping):
        raise TypeError(f"{msg.DESCRIPTOR.name}: not an object")
    fields = msg.DESCRIPTOR.fields_by_name
    for key, item in value.items():
        field = fields.get(key)
        if field is None or item is None:
            continue
        target = getattr(msg, key)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for map_key, map_value in item.items():
                if value_field.message_type is not None:
                    _fill(target[map_key], map_value)
                elif map_value is not None:
                    target[map_key] = _scalar(value_field, map_value)
        elif field.is_repeated:
            for element in item:
                if field.message_type is not None:
                    _fill(target.add(), element)
                else:
                    target.append(_scalar(field, element))
        elif field.message_type is not None:
            _fill(target, item)
        else:
            setattr(msg, key, _scalar(field, item))


# ------------------------------------------------------------------ message -> dict


def _special(msg: Message) -> tuple[bool, Any]:
    name = msg.DESCRIPTOR.full_name
    if name in (_TIME, _MICRO_TIME):
        seconds, nanos = msg.seconds, msg.nanos  # type: ignore[attr-defined]
        return True, None if not seconds and not nanos else _format_time(seconds, nanos, name == _MICRO_TIME)
    if name == _INT_OR_STRING:
        return True, msg.strVal if msg.type == 1 else msg.intVal  # type: ignore[attr-defined]
    if name == _QUANTITY:
        return True, msg.string or None  # type: ignore[attr-defined]
    if name in _RAW_JSON:
        raw = getattr(msg, _RAW_JSON[name])
        return True, json.loads(raw) if raw else None
    return False, None


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return _to_dict(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


def _to_dict(msg: Message) -> Any:
    special, value = _special(msg)
    if special:
        return value
    keep_zero = _pool()[1]
    full_name = msg.DESCRIPTOR.full_name
    out: dict[str, Any] = {}
    for field, item in msg.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _value(value_field, v) for k, v in item.items()}
        elif field.is_repeated:
            out[field.name] = [_value(field, v) for v in item]
        else:
            converted = _value(field, item)
            if converted is None or (not converted and field.message_type is None
                                     and (full_name, field.name) not in keep_zero):
                continue  # Go's JSON omits zero non-pointer fields
            out[field.name] = converted
    return out


# ------------------------------------------------------------------ envelope


def encode(obj: Mapping[str, Any]) -> bytes:
    """An object (kind and apiVersion set) as ``k8s\\x00`` + runtime.Unknown; ValueError if not served."""
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    full_name = _kind_message(api_version, kind)
    if full_name is None:
        raise CodecError(f"no protobuf message for {kind} in {api_version}")
    msg = _message_class(full_name)()
    try:
        _fill(msg, {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
    except (TypeError, ValueError, AttributeError) as exc:
        raise CodecError(f"{kind} cannot be encoded as protobuf: {exc}") from None
    envelope = _message_class(f"{PACKAGES['runtime']}.Unknown")()
    envelope.typeMeta.apiVersion = api_version  # type: ignore[attr-defined]
    envelope.typeMeta.kind = kind  # type: ignore[attr-defined]
    envelope.raw = msg.SerializeToString()  # type: ignore[attr-defined]
    envelope.contentEncoding = ""  # type: ignore[attr-defined]
    envelope.contentType = ""  # type: ignore[attr-defined]
    return MAGIC + envelope.SerializeToString()


def decode(data: bytes) -> dict[str, Any]:
    """A ``k8s\\x00`` body as the JSON-shaped object (with kind and apiVersion); CodecError if not."""
    if not data.startswith(MAGIC):
        raise CodecError("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
    envelope = _message_class(f"{PACKAGES['runtime']}.Unknown")()
    try:
        envelope.ParseFromString(data[len(MAGIC):])
        api_version, kind = envelope.typeMeta.apiVersion, envelope.typeMeta.kind  # type: ignore[attr-defined]
        full_name = _kind_message(api_version, kind)
        if full_name is None:
            raise CodecError(f'no kind "{kind}" is registered for version "{api_version}"')
        msg = _message_class(full_name)()
        msg.ParseFromString(envelope.raw)  # type: ignore[attr-defined]
        obj = _to_dict(msg)
    except (DecodeError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"the protobuf body could not be decoded: {exc}") from None
    return {"kind": kind, "apiVersion": api_version, **obj}


def descriptor(api_version: str, kind: str) -> Descriptor | None:
    """The message descriptor of a kind (tests walk it to build examples)."""
    full_name = _kind_message(api_version, kind)
    return _message_class(full_name).DESCRIPTOR if full_name else None


def accepts_protobuf(accept: str) -> bool:
    """Whether protobuf is the client's first choice that this server can make (kubectl and client-go
    send ``application/vnd.kubernetes.protobuf,application/json`` for built-in kinds)."""
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        params = part.lower()
        if media == MEDIA_TYPE:
            return "as=" not in params and "stream=" not in params
        if media in ("application/json", "*/*", "application/*", "application/yaml"):
            return False
    return False
