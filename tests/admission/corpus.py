"""Values to try per annotation type: near-valid ones built from the type, and their near misses.

A random string is almost never valid, so each type gets a strategy that builds values its parser
accepts (from its enum values, ranges, patterns, item types) and then perturbs some of them
(padding with Go or Python-only white space, case changes, a character inserted or dropped, a
separator doubled), plus short strings from an alphabet of troublemakers. ``edge_cases`` lists the
values every run tries whatever hypothesis draws.

What is shared with production and what is not: the parser types' own facts (``GO_TRUE``, the
int64 limits, ``Int.bounds``) come from :mod:`ccm.annotations.types`, as the CEL generator
(:mod:`ccm.admission.cel`) takes them. The values are drawn independently of the generated CEL
(values derived from it would test the CEL against itself), and ``registry.parse`` is the oracle
they are judged by; ``isIP``/``isCIDR`` run on ``gonetip``, an independent port of Go's netip, not
on the Python ``ipaddress`` the parsers use.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from ccm.annotations import types as t

#: characters that trip parsers up: Go vs Python white space, separators, case folds, non-ASCII.
#: No NUL: cel-expr-python hands strings to cel-cpp as C strings, cutting them there (an artefact of
#: the test runtime; a Kubernetes API server keeps the whole value).
TRICKY = " \t\n\v\f\r\x1c\x01\x85\xa0\u3000,=/.:%*-_+@0123456789abcdefxyzABCXYZ\u212a\u00e9\u0130"
_tricky_text = st.text(alphabet=TRICKY, max_size=12)


def _perturb(value: str, draw: Any) -> str:
    how = draw(st.integers(0, 7))
    if how == 0 or not value:
        return value
    if how == 1:
        return draw(st.sampled_from(" \t\x85\xa0\u3000\x1c")) + value + draw(st.sampled_from(["", " ", "\u3000"]))
    if how == 2:
        return value.swapcase()
    if how == 3:
        i = draw(st.integers(0, len(value)))
        return value[:i] + draw(st.sampled_from(TRICKY)) + value[i:]
    if how == 4:
        i = draw(st.integers(0, len(value) - 1))
        return value[:i] + value[i + 1:]
    if how == 5:
        return value.replace(",", ",,", 1) if "," in value else value + ","
    if how == 6:
        return value + value
    return value.upper()


@st.composite
def _with_misses(draw: Any, base: st.SearchStrategy[str]) -> str:
    return _perturb(draw(base), draw)


@functools.singledispatch
def valid_ish(parser: t.Parser) -> st.SearchStrategy[str]:
    raise NotImplementedError(f"no corpus for {type(parser).__name__}")


@valid_ish.register
def _(parser: t.GoBool) -> st.SearchStrategy[str]:
    return st.sampled_from(t.GO_TRUE + t.GO_FALSE + ("yes", "", "tRUE"))


@valid_ish.register
def _(parser: t.TrueFalse) -> st.SearchStrategy[str]:
    return st.sampled_from(("true", "false", "True", "FALSE", "tRuE", "1", "", "yes"))


@valid_ish.register
def _(parser: t.NotFalse) -> st.SearchStrategy[str]:
    return st.sampled_from(("false", "", "true", "0.0.0.0/0", "False"))


def _int_text(lo: int, hi: int) -> st.SearchStrategy[str]:
    @st.composite
    def text(draw: Any) -> str:
        n = draw(st.integers(lo, hi))
        sign = draw(st.sampled_from(["", "", "+"])) if n >= 0 else "-"
        return sign + "0" * draw(st.integers(0, 2)) + str(abs(n))
    return text()


@valid_ish.register
def _(parser: t.Int) -> st.SearchStrategy[str]:
    low, high = parser.bounds
    lo = t.INT64_MIN if low is None else low
    hi = t.INT64_MAX if high is None else high
    around = [st.integers(b - 3, b + 3).map(str) for b in (lo, hi)]
    return st.one_of(_int_text(max(lo - 5, t.INT64_MIN - 5), min(hi + 5, t.INT64_MAX + 5)), *around,
                     st.sampled_from([str(c) for c in parser.choices] or ["0"]))


@valid_ish.register
def _(parser: t.Enum) -> st.SearchStrategy[str]:
    spellings = list(parser.values) + [d for d, _ in parser.deprecated]
    return st.sampled_from(spellings + [s.lower() for s in spellings] + [s.upper() for s in spellings])


@valid_ish.register
def _(parser: t.Str) -> st.SearchStrategy[str]:
    if parser.pattern:
        base = st.from_regex(parser.pattern, fullmatch=True)
    else:
        base = st.text(alphabet=TRICKY, min_size=1, max_size=8)
    if parser.max_len is not None:
        base = st.one_of(base, st.text(alphabet="ab", min_size=parser.max_len - 1, max_size=parser.max_len + 1))
    return st.one_of(base, st.just(""), st.just(" "))


@valid_ish.register
def _(parser: t.IPAddress) -> st.SearchStrategy[str]:
    ip = st.ip_addresses(v=parser.version or None).map(str)
    tweaks = st.sampled_from(["::ffff:10.0.0.1", "fe80::1%eth0", "010.0.0.1", "1.2.3.4", "2001:DB8::1",
                              "1::2:3:4:5:6:7", "::1.2.3.4", "1:2:3:4:5:6:7:8::", "::"])
    return st.one_of(ip, ip.map(str.upper), tweaks)


@valid_ish.register
def _(parser: t.Cidr) -> st.SearchStrategy[str]:
    @st.composite
    def cidr(draw: Any) -> str:
        ip = draw(st.ip_addresses())
        bits = draw(st.integers(0, ip.max_prefixlen + 2))
        form = draw(st.sampled_from(["{}", "0{}", "+{}", " {}", "{}"]))
        return f"{ip}/{form.format(bits)}"
    return st.one_of(cidr(), st.sampled_from(["10.0.0.0/8", "10.0.0.0/255.0.0.0", "::ffff:1.2.3.4/120",
                                              "fe80::%eth0/64", "10.0.0.0", "10.0.0.0/", "/8"]))


@valid_ish.register
def _(parser: t.PortOrKeyword) -> st.SearchStrategy[str]:
    return st.one_of(st.just(parser.keyword), _int_text(-2, 65540), st.sampled_from(["0", "65535", "65536"]))


@valid_ish.register
def _(parser: t.PortRef) -> st.SearchStrategy[str]:
    return st.one_of(_int_text(-2, 65540), st.from_regex(r"[a-z0-9]([-a-z0-9]{0,62}[a-z0-9])?", fullmatch=True),
                     st.sampled_from(["http", "HTTP", "a" * 64, "-a", "0"]))


def _joined(items: st.SearchStrategy[str], max_size: int = 4) -> st.SearchStrategy[str]:
    return st.tuples(st.lists(items, min_size=1, max_size=max_size), st.sampled_from([",", ", ", " ,"])).map(
        lambda t: t[1].join(t[0]))


@valid_ish.register
def _(parser: t.List) -> st.SearchStrategy[str]:
    item = corpus(parser.item)
    return st.one_of(_joined(item), item, st.sampled_from(["", " ", ",", "a,,b"]))


@valid_ish.register
def _(parser: t.PortList) -> st.SearchStrategy[str]:
    return st.one_of(_joined(st.one_of(corpus(t.PortRef()), st.just("*"))), st.sampled_from(["*", "", "*,,80"]))


@valid_ish.register
def _(parser: t.KeyValues) -> st.SearchStrategy[str]:
    key = st.sampled_from(parser.keys) if parser.keys else corpus(parser.key)
    value = corpus(parser.value) if parser.value is not None else _tricky_text
    pair = st.one_of(st.tuples(key, value).map(lambda kv: f"{kv[0]}={kv[1]}"), key,
                     st.tuples(key, value).map(lambda kv: f"{kv[0]} = {kv[1]}=x"))
    prefixed = st.just(parser.reserved_prefix.upper() + "x=1") if parser.reserved_prefix else st.just("a=b")
    return st.one_of(_joined(pair), pair, prefixed, st.just("a=1,a=2"), st.just(""))


@valid_ish.register
def _(parser: t.JsonObject) -> st.SearchStrategy[str]:
    return st.sampled_from(["{}", "[]", "{"])


@functools.cache
def corpus(parser: t.Parser) -> st.SearchStrategy[str]:
    """Near-valid values of ``parser``, their near misses, and tricky short strings."""
    base = valid_ish(parser)
    return st.one_of(base, _with_misses(base), _tricky_text).map(lambda s: s.replace("\x00", "\x01"))


def edge_cases(parser: t.Parser) -> list[str]:
    """Values every run tries: empty, blank in both white-space dialects, separators alone."""
    return ["", " ", "\x1c", "\u3000", ",", "=", "*", "0", "-1", "true", "x" * 300]
