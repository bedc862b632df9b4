"""CEL for the annotation types: what a parser accepts, and the value it gives, as Kubernetes CEL.

One function per parser type (``functools.singledispatch`` on the classes of
:mod:`ccm.annotations.types`), so a new parser type without CEL fails loudly
(:class:`NotExpressible`) instead of being skipped. Each expression is a pure function of a CEL
string expression ``v`` (usually a ``cel.bind`` variable) and is checked value by value against the
parser itself by ``tests/admission``.

The CEL uses what a Kubernetes 1.30 API server offers ValidatingAdmissionPolicies: the standard
macros, ``matches``, the strings extension (``trim``, ``split``, ``lowerAscii``, ``substring``),
``cel.bind``, and Kubernetes' ``isIP`` and ``isCIDR``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from ccm.annotations.types import (
    GO_FALSE,
    GO_TRUE,
    INT64_MAX,
    INT64_MIN,
    Cidr,
    Enum,
    GoBool,
    Int,
    IPAddress,
    KeyValues,
    List,
    NotFalse,
    Parser,
    PortList,
    PortOrKeyword,
    PortRef,
    Str,
    TrueFalse,
    ascii_lower,
)


class NotExpressible(Exception):
    """The parser's rule cannot be written in Kubernetes CEL (a JSON object, say)."""


# --------------------------------------------------------------------------------------------
# Literals and fresh names
# --------------------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def lit(text: str) -> str:
    """A CEL string literal for ``text`` (double-quoted, so the YAML around it needs no doubling;
    control and non-ASCII characters escaped)."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) > 0x7E:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def lit_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(lit(i) for i in items) + "]"


#: literals the expressions below use
E, C, Q, S, T, F = (lit(x) for x in ("", ",", "=", "*", "true", "false"))


class Names:
    """Fresh ``cel.bind`` and macro variable names, so nested types never shadow each other."""

    def __init__(self) -> None:
        self._counter: Iterator[int] = itertools.count()

    def __call__(self, stem: str) -> str:
        return f"{stem}{next(self._counter)}"


def bind(name: str, value: str, body: str) -> str:
    return f"cel.bind({name}, {value}, {body})"


def all_of(*conditions: str) -> str:
    parts = [c for c in conditions if c and c != "true"]
    if not parts:
        return "true"
    return parts[0] if len(parts) == 1 else " && ".join(f"({c})" for c in parts)


def anchored(pattern: str) -> str:
    """A whole-string match in RE2 (``$`` is the end of the text there, as ``fullmatch`` in Python)."""
    return lit(f"^(?:{pattern})$")


# --------------------------------------------------------------------------------------------
# Integers: Go Atoi (int64), then the range
# --------------------------------------------------------------------------------------------

#: at most 18 significant digits: always an int64, so ``int(v)`` cannot fail
_SMALL_INT = anchored("[+-]?0*[0-9]{1,18}")
#: exactly 19 significant digits: an int64 only up to the limits below
_BIG_INT = anchored("[+-]?0*[1-9][0-9]{18}")
_BOUND = 10**18


def _int64(v: str) -> str:
    """``v`` is Go ``Atoi`` syntax and fits an int64 (19-digit strings compare as text)."""
    big = (f"{v}.matches({_BIG_INT}) && {v}.substring(size({v}) - 19) <= "
           f"({v}.startsWith(\"-\") ? {lit(str(-INT64_MIN))} : {lit(str(INT64_MAX))})")
    return f"{v}.matches({_SMALL_INT}) || ({big})"


def _int_syntax(v: str, lo: int | None, hi: int | None) -> str:
    """The cheapest exact syntax check for a range: 18 digits suffice when both bounds are small."""
    if lo is not None and hi is not None and lo > -_BOUND and hi < _BOUND:
        return f"{v}.matches({_SMALL_INT})"
    return _int64(v)


def int_in_range(v: str, lo: int | None, hi: int | None, choices: tuple[int, ...] = ()) -> str:
    """``v`` is an integer in ``lo``..``hi`` (None: open), and one of ``choices`` when given
    (``lo``..``hi`` then only picks the cheapest syntax check)."""
    conditions = [_int_syntax(v, lo, hi)]
    if choices:
        conditions.append(f"int({v}) in [{', '.join(map(str, choices))}]")
    if lo is not None and not choices:
        conditions.append(f"int({v}) >= {lo}")
    if hi is not None and not choices:
        conditions.append(f"int({v}) <= {hi}")
    return all_of(*conditions)


# --------------------------------------------------------------------------------------------
# valid(parser, v): the parser accepts the string v
# --------------------------------------------------------------------------------------------


@functools.singledispatch
def valid(parser: Parser, v: str, names: Names) -> str:
    raise NotExpressible(f"{type(parser).__name__} has no CEL form")


@valid.register
def _(parser: GoBool, v: str, names: Names) -> str:
    return f"{v} in {lit_list(GO_TRUE + GO_FALSE)}"


@valid.register
def _(parser: TrueFalse, v: str, names: Names) -> str:
    return f"{_fold(v, parser.case_insensitive)} in {lit_list(('true', 'false'))}"


@valid.register
def _(parser: NotFalse, v: str, names: Names) -> str:
    return "true"


@valid.register
def _(parser: Int, v: str, names: Names) -> str:
    return int_in_range(v, *parser.bounds, parser.choices)


@valid.register
def _(parser: Enum, v: str, names: Names) -> str:
    folded = [ascii_lower(x) if parser.case_insensitive else x for x in parser.values]
    out = f"{_fold(v, parser.case_insensitive)} in {lit_list(folded)}"
    if parser.deprecated:
        out += f" || {v} in {lit_list(d for d, _ in parser.deprecated)}"
    return out


@valid.register
def _(parser: Str, v: str, names: Names) -> str:
    checks = all_of(
        f"{v}.trim() != {E}",
        f"size({v}) <= {parser.max_len}" if parser.max_len is not None else "",
        f"{v}.matches({anchored(parser.pattern)})" if parser.pattern else "",
    )
    return f"{v} == {E} || ({checks})" if parser.allow_empty else checks


@valid.register
def _(parser: IPAddress, v: str, names: Names) -> str:
    # the family by its spelling: an IPv6 address always has a colon, an IPv4 address never
    family = {4: f"!{v}.contains(\":\")", 6: f"{v}.contains(\":\")"}.get(parser.version, "")
    return all_of(f"isIP({v})", family)


@valid.register
def _(parser: Cidr, v: str, names: Names) -> str:
    return f"isCIDR({v})"


@valid.register
def _(parser: PortOrKeyword, v: str, names: Names) -> str:
    return f"{v} == {lit(parser.keyword)} || ({int_in_range(v, 1, 65535)})"


_GO_INT = anchored("[+-]?[0-9]+")
_DNS_LABEL = anchored("[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@valid.register
def _(parser: PortRef, v: str, names: Names) -> str:
    return f"{v}.matches({_GO_INT}) ? ({int_in_range(v, 1, 65535)}) : (size({v}) <= 63 && {v}.matches({_DNS_LABEL}))"


def _items(v: str, names: Names) -> str:
    """The comma-separated items of ``v``, each trimmed (``split_items`` before its empty-item check)."""
    x = names("s")
    return f"{v}.split({C}).map({x}, {x}.trim())"


@valid.register
def _(parser: List, v: str, names: Names) -> str:
    if parser.max_items is not None:
        raise NotExpressible("List.max_items counts distinct items, which CEL cannot count")
    items, x = names("items"), names("x")
    each = bind(items, _items(v, names), f"{items}.all({x}, {x} != {E} && ({valid(parser.item, x, names)}))")
    return f"{v}.trim() == {E} ? {'true' if parser.blank_is_empty else 'false'} : {each}"


@valid.register
def _(parser: PortList, v: str, names: Names) -> str:
    items, x = names("ports"), names("x")
    return bind(items, _items(v, names), f"{items}.all({x}, {x} != {E}) && ({S} in {items} || "
                                  f"{items}.all({x}, {valid(PortRef(), x, names)}))")


@valid.register
def _(parser: KeyValues, v: str, names: Names) -> str:
    items, x, k, w, keys, j = (names(s) for s in ("kvs", "x", "k", "w", "keys", "j"))
    key_checks = all_of(
        f"{k} in {lit_list(parser.keys)}" if parser.keys else "",
        f"!{k}.lowerAscii().startsWith({lit(parser.reserved_prefix)})" if parser.reserved_prefix else "",
        valid(parser.key, k, names),
        valid(parser.value, w, names) if parser.value is not None else "",
    )
    per_item = all_of(
        f"{x} != {E}",
        f"size({x}.split({Q})) <= 2",
        "" if parser.key_only else f"{x}.contains({Q})",
        bind(k, f"{x}.split({Q})[0].trim()",
             bind(w, f"size({x}.split({Q})) == 2 ? {x}.split({Q})[1].trim() : {E}", key_checks)),
    )
    unique = bind(keys, f"{items}.map({x}, {x}.split({Q})[0].trim())",
                  f"{keys}.all({k}, {keys}.filter({j}, {j} == {k}).size() == 1)")
    return bind(items, _items(v, names), all_of(
        f"{items}.all({x}, {per_item})", unique,
        f"size({items}) <= {parser.max_items}" if parser.max_items is not None else ""))


def _fold(v: str, case_insensitive: bool) -> str:
    return f"{v}.lowerAscii()" if case_insensitive else v


# --------------------------------------------------------------------------------------------
# canonical(parser, v): the parsed value as the text the registry compares (v already valid)
# --------------------------------------------------------------------------------------------


def text_of(value: Any) -> str:
    """A typed value as :func:`canonical` spells it (``True`` -> ``'true'``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@functools.singledispatch
def canonical(parser: Parser, v: str, names: Names) -> str:
    raise NotExpressible(f"{type(parser).__name__} has no CEL canonical form")


@canonical.register
def _(parser: GoBool, v: str, names: Names) -> str:
    return f"{v} in {lit_list(GO_TRUE)} ? {T} : {F}"


@canonical.register
def _(parser: TrueFalse, v: str, names: Names) -> str:
    return _fold(v, parser.case_insensitive)


@canonical.register
def _(parser: NotFalse, v: str, names: Names) -> str:
    return f"{v} in [{F}, {E}] ? {F} : {T}"


@canonical.register
def _(parser: Int, v: str, names: Names) -> str:
    return f"string(int({v}))"


@canonical.register
def _(parser: Enum, v: str, names: Names) -> str:
    out = E
    for spelling, value in reversed(parser.deprecated):
        out = f"{v} == {lit(spelling)} ? {lit(value)} : ({out})"
    for value in reversed(parser.values):
        want = ascii_lower(value) if parser.case_insensitive else value
        out = f"{_fold(v, parser.case_insensitive)} == {lit(want)} ? {lit(value)} : ({out})"
    return out


@canonical.register
def _(parser: Str, v: str, names: Names) -> str:
    return v


@canonical.register
def _(parser: IPAddress, v: str, names: Names) -> str:
    if parser.version != 4:
        # an IPv6 address has several spellings; a conversion back to text is not portable CEL
        raise NotExpressible("the canonical text of an IPv6 address")
    return v  # a valid IPv4 address has exactly one spelling (no leading zeros)


@canonical.register
def _(parser: PortOrKeyword, v: str, names: Names) -> str:
    return f"{v} == {lit(parser.keyword)} ? {v} : string(int({v}))"


@canonical.register
def _(parser: PortRef, v: str, names: Names) -> str:
    return f"{v}.matches({_GO_INT}) ? string(int({v})) : {v}"


def canonical_items(parser: Parser, v: str, names: Names) -> str:
    """A list annotation's canonical items (a CEL ``list(string)``; duplicates still in)."""
    if isinstance(parser, List):
        x = names("x")
        return f"{v}.trim() == {E} ? [] : {_items(v, names)}.map({x}, {canonical(parser.item, x, names)})"
    if isinstance(parser, PortList):
        items, x = names("ports"), names("x")
        return bind(items, _items(v, names), f"{S} in {items} ? [{S}] : {items}.map({x}, {canonical(PortRef(), x, names)})")
    raise NotExpressible(f"{type(parser).__name__} is not a list")


def keys_of(parser: KeyValues, v: str, names: Names) -> str:
    """The keys of a ``k=v`` annotation (a CEL ``list(string)``)."""
    x = names("x")
    return f"{_items(v, names)}.map({x}, {x}.split({Q})[0].trim())"


def same_items(a: str, b: str, names: Names) -> str:
    """Two item lists are equal once duplicates are dropped in order (the registry's tuples).

    Same elements, and every pair in the same order of first occurrence; an item's first
    occurrence is found in the items joined by commas (an item never holds one: they were split
    on them).
    """
    x, y, ja, jb = names("x"), names("y"), names("ja"), names("jb")

    def first(joined: str, item: str) -> str:
        return f"{joined}.indexOf({C} + {item} + {C})"

    order = (f"{a}.all({x}, {a}.all({y}, ({first(ja, x)} < {first(ja, y)}) == ({first(jb, x)} < {first(jb, y)})))")
    return all_of(f"{a}.all({x}, {x} in {b})", f"{b}.all({x}, {x} in {a})",
                  bind(ja, f"{C} + {a}.join({C}) + {C}", bind(jb, f"{C} + {b}.join({C}) + {C}", order)))


def is_list(parser: Parser) -> bool:
    return isinstance(parser, List | PortList)
