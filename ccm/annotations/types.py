"""Value parsers: raw annotation string in, the typed value adapters receive out.

Every parser is a small frozen dataclass, so declarations stay comparable and hashable, with
``describe`` (the "accepted values" column of the docs) and ``__call__(raw)``, which returns
the typed value or raises :class:`AnnotationValueError` whose message says what is accepted.
Parsers never guess: where an upstream provider silently maps junk to a default, the
declaration's ``on_invalid="warn"`` policy reproduces that and still tells the user.

Value types handed to adapters: ``bool``, ``int``, ``str``, ``tuple[str, ...]`` for lists and
a read-only ``Mapping[str, str]`` (``types.MappingProxyType``) for key=value lists.

Every rule here is also expressible in Kubernetes CEL, so ``ccm admission-policy`` can reject at
``kubectl apply`` time exactly what these parsers reject (``tests/admission`` checks agreement
value by value): whitespace is Go's ``strings.TrimSpace`` set (CEL ``trim()``), "any case" is
ASCII case (CEL ``lowerAscii()``), integers are Go ``Atoi`` (int64), IPs and CIDRs follow
Kubernetes' ``isIP``/``isCIDR`` (Go ``netip``, no zones, no IPv4-mapped IPv6), and patterns use
the syntax RE2 and Python's ``re`` read the same way (no shorthand classes such as ``\\w``).
"""

from __future__ import annotations

import abc
import dataclasses
import ipaddress
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


class AnnotationValueError(ValueError):
    """A raw value does not parse; ``message`` completes "annotation k="v" is invalid: ..."."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Parser(abc.ABC):
    """Turns one raw annotation value into its typed value."""

    @property
    @abc.abstractmethod
    def describe(self) -> str:
        """Short Markdown-safe description of the accepted values, for the docs."""

    @abc.abstractmethod
    def __call__(self, raw: str) -> Any:
        """Return the typed value or raise :class:`AnnotationValueError`."""

    @property
    def example(self) -> str:
        """A value this parser accepts, for the docs ("" when only the declaration can say)."""
        return ""


#: Go ``unicode.IsSpace``: what ``strings.TrimSpace`` (upstream) and CEL ``trim()`` remove
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: Go ``strconv.Atoi`` on 64-bit platforms: int64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: regular-expression syntax that RE2 (CEL ``matches``) and Python read differently
_NOT_PORTABLE = re.compile(r"\\[wWdDsSbBAZzpPuU]|\(\?P|\(\?<|\(\?=|\(\?!")


def go_trim(text: str) -> str:
    """``strings.TrimSpace``: Unicode white space (not Python's wider ``str.strip`` set) off both ends."""
    return text.strip(GO_SPACE)


def ascii_lower(text: str) -> str:
    """CEL ``lowerAscii()``: only A-Z change (``str.lower`` would also fold, e.g., the Kelvin sign)."""
    return text.translate(_ASCII_LOWER)


def _choices(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return f'"{values[0]}"'
    return ", ".join(values[:-1]) + " or " + values[-1]


# --------------------------------------------------------------------------------------------
# Booleans: three upstream dialects
# --------------------------------------------------------------------------------------------

GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclasses.dataclass(frozen=True)
class GoBool(Parser):
    """Go ``strconv.ParseBool``: the exact spellings it knows, anything else (even "") fails."""

    @property
    def describe(self) -> str:
        return "bool (Go ParseBool)"

    @property
    def example(self) -> str:
        return "true"

    def __call__(self, raw: str) -> bool:
        if raw in GO_TRUE:
            return True
        if raw in GO_FALSE:
            return False
        return _fail(f"must be a boolean: one of {', '.join(GO_TRUE + GO_FALSE)}")


@dataclasses.dataclass(frozen=True)
class TrueFalse(Parser):
    """Providers that compare with the string "true" (Azure, GCP, OpenStack, ...).

    Only "true"/"false" parse (``case_insensitive`` follows Go ``strings.EqualFold`` use);
    upstream maps every other value to false, which the declaration reproduces with
    ``on_invalid="warn"``.
    """

    case_insensitive: bool = False

    @property
    def describe(self) -> str:
        return '`"true"` or `"false"`' + (" (any case)" if self.case_insensitive else "")

    @property
    def example(self) -> str:
        return "true"

    def __call__(self, raw: str) -> bool:
        v = ascii_lower(raw) if self.case_insensitive else raw
        if v == "true":
            return True
        if v == "false":
            return False
        return _fail('must be "true" or "false"' + (" (any case)" if self.case_insensitive else ""))


@dataclasses.dataclass(frozen=True)
class NotFalse(Parser):
    """AWS ``aws-load-balancer-internal``: "false" and "" are False, any other value True."""

    @property
    def describe(self) -> str:
        return '`"false"` -> off; any other non-empty value (e.g. `"true"`, legacy `"0.0.0.0/0"`) -> on'

    def __call__(self, raw: str) -> bool:
        return raw not in ("false", "")

    @property
    def example(self) -> str:
        return "true"


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------

_GO_INT = re.compile(r"[+-]?[0-9]+")


@dataclasses.dataclass(frozen=True)
class Int(Parser):
    """Go ``strconv.Atoi`` (optional sign, ASCII digits, nothing else) plus a range or choices."""

    min: int | None = None
    max: int | None = None
    choices: tuple[int, ...] = ()
    unit: str = ""

    @property
    def _accepted(self) -> str:
        if self.choices:
            return _choices(tuple(str(c) for c in self.choices))
        if self.min is not None and self.max is not None:
            return f"an integer between {self.min} and {self.max}"
        if self.min is not None:
            return f"an integer >= {self.min}"
        if self.max is not None:
            return f"an integer <= {self.max}"
        return "an integer"

    @property
    def describe(self) -> str:
        if self.choices:
            text = "int: " + self._accepted
        elif self.min is not None and self.max is not None:
            text = f"int {self.min}-{self.max}"
        else:
            text = "int" + self._accepted.removeprefix("an integer")
        return text + (f" ({self.unit})" if self.unit else "")

    @property
    def example(self) -> str:
        if self.choices:
            return str(self.choices[0])
        return str(next((b for b in (self.min, self.max) if b is not None), 0))

    @property
    def bounds(self) -> tuple[int | None, int | None]:
        """The narrowest range holding every accepted value (None: open at that end); with choices,
        their smallest and largest. The admission CEL checks syntax by it, the tests draw around it."""
        if self.choices:
            return min(self.choices), max(self.choices)
        return self.min, self.max

    def __call__(self, raw: str) -> int:
        if not _GO_INT.fullmatch(raw) or not INT64_MIN <= int(raw) <= INT64_MAX:
            return _fail(f"must be {self._accepted}")
        value = int(raw)
        if self.choices and value not in self.choices:
            return _fail(f"must be {self._accepted}")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            return _fail(f"must be {self._accepted}")
        return value


@dataclasses.dataclass(frozen=True)
class Enum(Parser):
    """One of a fixed set; with ``case_insensitive`` the declared spelling is returned.

    ``deprecated`` maps extra accepted spellings to their canonical value (GCP's "internal").
    """

    values: tuple[str, ...]
    case_insensitive: bool = False
    deprecated: tuple[tuple[str, str], ...] = ()

    @property
    def describe(self) -> str:
        text = " | ".join(f"`{v}`" for v in self.values)
        if self.deprecated:
            text += " (deprecated: " + ", ".join(f"`{d}`" for d, _ in self.deprecated) + ")"
        return text + (" (any case)" if self.case_insensitive else "")

    @property
    def example(self) -> str:
        return self.values[0]

    def __call__(self, raw: str) -> str:
        fold = ascii_lower if self.case_insensitive else str
        for v in self.values:
            if fold(raw) == fold(v):
                return v
        for spelling, canonical in self.deprecated:
            if raw == spelling:
                return canonical
        return _fail(f"must be {'one of ' if len(self.values) > 1 else ''}{_choices(self.values)}"
                     + (" (any case)" if self.case_insensitive else ""))


@dataclasses.dataclass(frozen=True)
class Str(Parser):
    """Free text with an optional documented syntax (regular expression) and length limit."""

    pattern: str = ""
    what: str = "a string"
    max_len: int | None = None
    allow_empty: bool = False
    #: a value it accepts, for the docs
    sample: str = ""

    def __post_init__(self) -> None:
        if _NOT_PORTABLE.search(self.pattern):
            raise ValueError(f"pattern {self.pattern!r}: use explicit classes ([0-9], [^\\x00-\\x20]) and no "
                             "lookaround or named groups, so RE2 (CEL) reads it as Python does")

    @property
    def describe(self) -> str:
        return self.what + (f" (at most {self.max_len} characters)" if self.max_len else "")

    @property
    def example(self) -> str:
        return self.sample

    def __call__(self, raw: str) -> str:
        if raw == "" and self.allow_empty:
            return raw
        if go_trim(raw) == "":
            return _fail(f"must be {self.what}, not empty")
        if self.max_len is not None and len(raw) > self.max_len:
            return _fail(f"must be {self.what} of at most {self.max_len} characters")
        if self.pattern and not re.fullmatch(self.pattern, raw):
            return _fail(f"must be {self.what}")
        return raw


def parse_ip(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Kubernetes CEL ``isIP``: Go ``netip.ParseAddr`` without a zone or an IPv4-mapped IPv6 address.

    Python's ``ipaddress`` and Go agree on the rest (dotted quads without leading zeros, at most
    four hex digits per group, one ``::`` standing for at least one group).
    """
    if "%" in raw:
        return None
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return None
    return ip


_PREFIX_LENGTH = re.compile(r"0|[1-9][0-9]{0,2}")


@dataclasses.dataclass(frozen=True)
class IPAddress(Parser):
    """A single IP address of the given family (4, 6, or 0 for either), as Kubernetes CEL ``isIP``."""

    version: int = 0

    @property
    def what(self) -> str:
        return {4: "an IPv4 address", 6: "an IPv6 address"}.get(self.version, "an IP address")

    @property
    def describe(self) -> str:
        return self.what

    @property
    def example(self) -> str:
        return "2001:db8::10" if self.version == 6 else "10.0.1.10"

    def __call__(self, raw: str) -> str:
        ip = parse_ip(raw)
        if ip is None or (self.version and ip.version != self.version):
            return _fail(f"must be {self.what}")
        return str(ip)


@dataclasses.dataclass(frozen=True)
class Cidr(Parser):
    """An address with a prefix length, as Kubernetes CEL ``isCIDR`` (Go ``netip.ParsePrefix``: no
    leading zeros in the length, no netmask form); host bits are masked off."""

    @property
    def describe(self) -> str:
        return "a CIDR"

    @property
    def example(self) -> str:
        return "10.0.0.0/8"

    def __call__(self, raw: str) -> str:
        if "/" not in raw:
            return _fail("must be a CIDR such as 10.0.0.0/8 (the prefix length is required)")
        address, _, length = raw.rpartition("/")
        ip = parse_ip(address)
        if ip is None or not _PREFIX_LENGTH.fullmatch(length) or int(length) > ip.max_prefixlen:
            return _fail("must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32")
        return str(ipaddress.ip_network((ip, int(length)), strict=False))


@dataclasses.dataclass(frozen=True)
class PortOrKeyword(Parser):
    """A port number 1-65535 or one keyword (AWS ``traffic-port``); returns int or the keyword."""

    keyword: str

    @property
    def describe(self) -> str:
        return f"`{self.keyword}` or port 1-65535"

    @property
    def example(self) -> str:
        return self.keyword

    def __call__(self, raw: str) -> int | str:
        if raw == self.keyword:
            return raw
        if _GO_INT.fullmatch(raw) and 1 <= int(raw) <= 65535:
            return int(raw)
        return _fail(f'must be "{self.keyword}" or a port number between 1 and 65535')


@dataclasses.dataclass(frozen=True)
class JsonObject(Parser):
    """A JSON object passed through to a cloud API (Tencent's extensive parameters)."""

    @property
    def describe(self) -> str:
        return "JSON object"

    @property
    def example(self) -> str:
        return "{}"

    def __call__(self, raw: str) -> Mapping[str, Any]:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            return _fail(f"must be a JSON object ({exc.msg} at character {exc.pos})")
        if not isinstance(value, dict):
            return _fail("must be a JSON object ({...})")
        return MappingProxyType(value)


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------


def split_items(raw: str) -> list[str]:
    """Comma-separated items, each trimmed; an empty item is an error (a typo, not "nothing")."""
    items = [go_trim(item) for item in raw.split(",")]
    for i, item in enumerate(items, 1):
        if not item:
            _fail(f"must be a comma-separated list without empty items (item {i} is empty)")
    return items


@dataclasses.dataclass(frozen=True)
class List(Parser):
    """Comma-separated, trimmed items, each checked by ``item``; duplicates dropped in order.

    ``blank_is_empty`` makes an all-blank value the empty tuple (upstream's "unset"), as for
    the legacy source-ranges annotation; otherwise a blank value is an error.
    """

    item: Parser = dataclasses.field(default_factory=Str)
    blank_is_empty: bool = False
    max_items: int | None = None

    @property
    def describe(self) -> str:
        return f"comma list, each {self.item.describe}"

    @property
    def example(self) -> str:
        return self.item.example

    def __call__(self, raw: str) -> tuple[str, ...]:
        if not go_trim(raw):
            if self.blank_is_empty:
                return ()
            return _fail(f"must be a comma-separated list, each {self.item.describe}; not empty")
        out: list[str] = []
        for item in split_items(raw):
            try:
                value = str(self.item(item))
            except AnnotationValueError as exc:
                return _fail(f'item "{item}" {exc.message}')
            if value not in out:
                out.append(value)
        if self.max_items is not None and len(out) > self.max_items:
            return _fail(f"must list at most {self.max_items} items (got {len(out)})")
        return tuple(out)


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


@dataclasses.dataclass(frozen=True)
class PortRef(Parser):
    """A Service port by number (returned as int) or by name (a DNS label, returned as str)."""

    @property
    def describe(self) -> str:
        return "port number or Service port name"

    @property
    def example(self) -> str:
        return "443"

    def __call__(self, raw: str) -> int | str:
        if _GO_INT.fullmatch(raw):
            if not 1 <= int(raw) <= 65535:
                return _fail("must be a port number between 1 and 65535")
            return int(raw)
        if len(raw) > 63 or not re.fullmatch(_DNS_LABEL, raw):
            return _fail("must be a port number or a Service port name (lower-case letters, digits and '-')")
        return raw


@dataclasses.dataclass(frozen=True)
class PortList(Parser):
    """Service ports by number or name, or ``*`` for all (AWS ``ssl-ports``).

    A ``*`` anywhere means all ports, as upstream; the result is then ``("*",)``.
    """

    @property
    def describe(self) -> str:
        return "`*` or comma list of port numbers / port names"

    @property
    def example(self) -> str:
        return "443"

    def __call__(self, raw: str) -> tuple[str, ...]:
        items = split_items(raw)
        if "*" in items:
            return ("*",)
        out: list[str] = []
        for item in items:
            try:
                port = str(PortRef()(item))
            except AnnotationValueError as exc:
                return _fail(f'item "{item}" {exc.message}')
            if port not in out:
                out.append(port)
        return tuple(out)


@dataclasses.dataclass(frozen=True)
class KeyValues(Parser):
    """``k1=v1,k2=v2`` lists (tags, attributes, label filters) as a read-only mapping.

    ``k`` alone (when ``key_only``) and ``k=`` both give "". Stricter than the Go helpers,
    which drop malformed items and cut ``a=b=c`` to ``a=b``: here those are errors, as are
    duplicate keys. ``keys`` restricts the allowed keys; ``value`` checks each value.
    """

    key: Parser = dataclasses.field(default_factory=Str)
    value: Parser | None = None
    key_only: bool = True
    keys: tuple[str, ...] = ()
    reserved_prefix: str = ""
    max_items: int | None = None

    @property
    def describe(self) -> str:
        text = "`k1=v1,k2=v2`" + (" (`k` alone = empty value)" if self.key_only else "")
        if self.keys:
            text += "; keys: " + ", ".join(f"`{k}`" for k in self.keys)
        return text

    @property
    def example(self) -> str:
        key = self.keys[0] if self.keys else (self.key.example or "team")
        value = self.value.example if self.value is not None and self.value.example else "web"
        return f"{key}={value}"

    def __call__(self, raw: str) -> Mapping[str, str]:
        out: dict[str, str] = {}
        for item in split_items(raw):
            key, eq, value = item.partition("=")
            key, value = go_trim(key), go_trim(value)
            if "=" in value:
                return _fail(f'item "{item}" must be key=value with a single "="')
            if not eq and not self.key_only:
                return _fail(f'item "{item}" must be key=value')
            if self.keys and key not in self.keys:
                return _fail(f'key "{key}" is not supported; supported keys: {", ".join(self.keys)}')
            if self.reserved_prefix and ascii_lower(key).startswith(self.reserved_prefix):
                return _fail(f'key "{key}" uses the reserved prefix "{self.reserved_prefix}"')
            try:
                self.key(key)
            except AnnotationValueError as exc:
                return _fail(f'item "{item}": the key {exc.message}')
            if self.value is not None:
                try:
                    value = str(self.value(value))
                except AnnotationValueError as exc:
                    return _fail(f'the value of "{key}" {exc.message}')
            if key in out:
                return _fail(f'key "{key}" is given twice')
            out[key] = value
        if self.max_items is not None and len(out) > self.max_items:
            return _fail(f"must have at most {self.max_items} entries (got {len(out)})")
        return MappingProxyType(out)


_LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"

#: a Kubernetes label key (optional DNS-subdomain prefix, "/", name of at most 63 characters)
LABEL_KEY = Str(pattern=f"({_DNS_SUBDOMAIN}/)?{_LABEL_NAME}", what="a Kubernetes label key", max_len=317,
                sample="node-role.kubernetes.io/worker")
#: a Kubernetes label value (may be empty)
LABEL_VALUE = Str(pattern=_LABEL_NAME, what="a Kubernetes label value", max_len=63, allow_empty=True, sample="edge")
#: label filters ``k=v,k2``: an empty value (or a bare key) matches any value of that label
LABELS = KeyValues(key=LABEL_KEY, value=LABEL_VALUE)
#: a DNS-1123 label, the shape of most cloud resource names
DNS_LABEL = Str(pattern=_DNS_LABEL, what="a DNS label (lower-case letters, digits, '-')", max_len=63, sample="web")
#: a UUID, the shape of OpenStack resource IDs
UUID = Str(pattern=r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", what="a UUID",
           sample="6f1b5b3c-2d1e-4a7b-9c3d-0123456789ab")


def _fail(message: str) -> Any:
    raise AnnotationValueError(message)
