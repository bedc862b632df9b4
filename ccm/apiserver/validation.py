"""Name, label and metadata rules from apimachinery's validation package."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")

DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                     "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                         "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                         "regex used for validation is "
                         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                     "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
                     "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QUALIFIED_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                      "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
                      "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                   "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                   "'my_value',  or '12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")

NameValidator = Callable[[str, bool], list[str]]


def _max_len(value: str, limit: int) -> list[str]:
    return [f"must be no more than {limit} characters"] if len(value) > limit else []


def is_dns1123_label(value: str) -> list[str]:
    errs = _max_len(value, 63)
    if not _DNS1123_LABEL.match(value):
        errs.append(DNS1123_LABEL_MSG)
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = _max_len(value, 253)
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(DNS1123_SUBDOMAIN_MSG)
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = _max_len(value, 63)
    if not _DNS1035_LABEL.match(value):
        errs.append(DNS1035_LABEL_MSG)
    return errs


def _mask_trailing_dash(name: str) -> str:
    """generateName prefixes may end in '-' (the random suffix follows), as apimachinery allows."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_any(name: str, prefix: bool) -> list[str]:
    """core/v1 Events: legacy validation checks no name format at all."""
    return []


def is_qualified_name(value: str) -> list[str]:
    errs: list[str] = []
    prefix, sep, name = value.rpartition("/")
    if sep:
        if not prefix:
            errs.append("prefix part " + "must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME_PART.match(name):
        errs.append(QUALIFIED_NAME_MSG)
    return errs


def is_label_value(value: str) -> list[str]:
    errs = _max_len(value, 63)
    if not _LABEL_VALUE.match(value):
        errs.append(LABEL_VALUE_MSG)
    return errs


def is_valid_port_num(port: Any) -> bool:
    return isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535


def is_valid_port_name(name: str) -> list[str]:
    """IANA_SVC_NAME, used for named targetPorts."""
    errs: list[str] = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not _IANA_SVC_NAME.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """netutils.ParseIPSloppy: like Go's net.ParseIP, IPv4 octets may carry leading zeros."""
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    parts = value.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return None
    return ipaddress.IPv4Address(".".join(str(int(p)) for p in parts))


def parse_cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """netutils.ParseCIDRSloppy: a sloppy IP, "/", a decimal prefix length that fits."""
    if not isinstance(value, str) or "/" not in value:
        return None
    ip_text, _, prefix = value.partition("/")
    ip = parse_ip(ip_text)
    if ip is None or not prefix.isdigit() or int(prefix) > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{int(prefix)}", strict=False)


IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def endpoint_ip_errors(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, address: str,
                       allow_loopback: bool = False) -> list[str]:
    """ValidateEndpointIP: unspecified, loopback and link-local addresses make no sense as endpoints."""
    errs: list[str] = []
    if ip.is_unspecified:
        errs.append(f"may not be unspecified ({address})")
    if ip.is_loopback and not allow_loopback:
        errs.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if ip.is_link_local and not ip.is_multicast:
        errs.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if ip in _LINK_LOCAL_MULTICAST_V4 or (ip.version == 6 and (int(ip) >> 112) & 0xFF0F == 0xFF02):
        errs.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return errs


_LINK_LOCAL_MULTICAST_V4 = ipaddress.ip_network("224.0.0.0/24")


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [fe.invalid(path, labels, "must be a map of string to string")]
    errs: list[FieldError] = []
    for k, v in labels.items():
        errs += [fe.invalid(path, k, m) for m in is_qualified_name(k)]
        if not isinstance(v, str):
            errs.append(fe.invalid(f"{path}", v, "must be a string"))
            continue
        errs += [fe.invalid(path, v, m) for m in is_label_value(v)]
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return [fe.invalid(path, annotations, "must be a map of string to string")]
    errs: list[FieldError] = []
    total = 0
    for k, v in annotations.items():
        errs += [fe.invalid(path, k, m) for m in is_qualified_name(k.lower())]
        if not isinstance(v, str):
            errs.append(fe.invalid(path, v, "must be a string"))
            continue
        total += len(k) + len(v)
    if total > 256 * 1024:
        errs.append(fe.too_long(path, 256 * 1024))
    return errs


def validate_finalizers(finalizers: Any, path: str) -> list[FieldError]:
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [fe.invalid(path, finalizers, "must be a list of strings")]
    errs: list[FieldError] = []
    for i, f in enumerate(finalizers):
        if not isinstance(f, str):
            errs.append(fe.invalid(f"{path}[{i}]", f, "must be a string"))
            continue
        errs += [fe.invalid(path, f, m) for m in is_qualified_name(f)]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(fe.invalid(path, finalizers,
                               "finalizer orphan and foregroundDeletion cannot be both set"))
    # built-in kinds (core validation's validateKubeFinalizerName): an unqualified name must be standard
    for i, f in enumerate(finalizers):
        if isinstance(f, str) and "/" not in f and f not in STANDARD_FINALIZERS:
            errs.append(fe.invalid(f"{path}[{i}]", f, "name is neither a standard finalizer name nor is it "
                                                      "fully qualified"))
    return errs


STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def validate_object_meta(meta: Mapping[str, Any], namespaced: bool, name_fn: NameValidator) -> list[FieldError]:
    """ValidateObjectMeta: name or generateName, namespace, labels, annotations, finalizers."""
    errs: list[FieldError] = []
    name = meta.get("name") or ""
    generate = meta.get("generateName") or ""
    if generate:
        errs += [fe.invalid("metadata.generateName", generate, m) for m in name_fn(generate, True)]
    if not name:
        errs.append(fe.required("metadata.name", "name or generateName is required"))
    else:
        errs += [fe.invalid("metadata.name", name, m) for m in name_fn(name, False)]
    ns = meta.get("namespace") or ""
    if namespaced:
        if not ns:
            errs.append(fe.required("metadata.namespace"))
        else:
            errs += [fe.invalid("metadata.namespace", ns, m) for m in is_dns1123_label(ns)]
    elif ns:
        errs.append(fe.forbidden("metadata.namespace", "not allowed on this type"))
    errs += validate_labels(meta.get("labels"), "metadata.labels")
    errs += validate_annotations(meta.get("annotations"), "metadata.annotations")
    errs += validate_finalizers(meta.get("finalizers"), "metadata.finalizers")
    return errs


def validate_object_meta_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """ValidateObjectMetaUpdate: identity is immutable; no new finalizers once terminating."""
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):  # first, as upstream lists it
        added = sorted({f for f in new.get("finalizers") or [] if isinstance(f, str)
                        and f not in (old.get("finalizers") or [])})
        if added:
            errs.append(fe.forbidden("metadata.finalizers",
                                     "no new finalizers can be added if the object is being deleted, "
                                     f"found new finalizers {fe.go_repr(added)}"))
    for field in ("name", "namespace", "uid", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if new.get(field) != old.get(field) and (new.get(field) or old.get(field)):
            errs.append(fe.invalid(f"metadata.{field}", new.get(field), "field is immutable"))
    return errs
