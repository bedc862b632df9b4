"""Property tests of the PROXY protocol parser: what it accepts is exactly what the spec writes.

Version 1 fields are checked against the specification's grammar (haproxy proxy-protocol.txt
2.1), not against the parser's own code: a port is accepted iff it is the canonical decimal
text of a number in 0..65535; an IPv4 address iff it is the canonical dotted quad.
"""

from __future__ import annotations

import ipaddress
import socket
import string

from hypothesis import given
from hypothesis import strategies as st

from ccm.proxy.engine.proxyproto import ProxyProtocolError, build_v1, build_v2, parse

V4 = st.ip_addresses(v=4).map(str)
V6 = st.ip_addresses(v=6).map(str)
PORT = st.integers(0, 65535)
ADDR_ALPHABET = string.hexdigits + ".:%-_ x"


def _variants(n: int) -> st.SearchStrategy[bytes]:
    """``n`` written the ways Python's int() (or a sloppy sender) would still read it."""
    text = str(n)
    return st.sampled_from([text, f"+{text}", f"-{text}", f"0{text}", f"00{text}", f" {text}", f"{text} ",
                            f"{text}\t", text[:1] + "_" + text[1:] if len(text) > 1 else text + "_0",
                            f"{n:x}", f"0x{n:x}", text.translate(str.maketrans("0123456789",
                                                                                "٠١٢٣٤٥٦٧٨٩"))]
                           ).map(lambda t: t.encode())


PORT_FIELDS = st.one_of(st.integers(-5, 70000).flatmap(_variants), st.binary(max_size=7))


def _is_canonical_port(field: bytes) -> bool:
    return field.isdigit() and str(int(field)).encode() == field and int(field) <= 65535


def _accepts(line: bytes) -> bool:
    try:
        return parse(line) is not None
    except ProxyProtocolError:
        return False


@given(PORT_FIELDS, PORT)
def test_v1_ports_are_canonical_decimal_only(field: bytes, other: int) -> None:
    for line in (b"PROXY TCP4 192.0.2.1 198.51.100.2 %s %d\r\n" % (field, other),
                 b"PROXY TCP4 192.0.2.1 198.51.100.2 %d %s\r\n" % (other, field)):
        assert _accepts(line) is _is_canonical_port(field), line


@given(st.one_of(V4, st.text(ADDR_ALPHABET, max_size=20),
                 st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(map(str, t))),
                 st.tuples(*[st.sampled_from(["0", "00", "01", "1", "10", "255", "256"])] * 4).map(".".join)))
def test_v1_ipv4_is_the_canonical_dotted_quad_only(text: str) -> None:
    try:
        canonical = str(ipaddress.IPv4Address(text)) == text
    except ValueError:
        canonical = False
    line = f"PROXY TCP4 {text} 192.0.2.9 1 2\r\n".encode()
    assert _accepts(line) is canonical, line


@given(st.one_of(V6, st.text(ADDR_ALPHABET, max_size=45)))
def test_v1_ipv6_is_a_literal_address_only(text: str) -> None:
    try:
        literal = "%" not in text and ipaddress.IPv6Address(text) is not None
    except ValueError:
        literal = False
    line = f"PROXY TCP6 {text} ::1 1 2\r\n".encode()
    if len(line) <= 107:
        accepted = _accepts(line)
        assert accepted is literal, line
        if accepted:  # carried in canonical form: one client, one affinity key, one range check
            header = parse(line)
            assert header is not None and header.source[0] == _canonical(text)


def _canonical(text: str) -> str:
    """inet_ntop's text for an address (it writes IPv4-mapped ones dotted)."""
    return socket.inet_ntop(socket.AF_INET6 if ":" in text else socket.AF_INET,
                            ipaddress.ip_address(text).packed)


# build_v1/v2 unmap IPv4-mapped addresses (a dual-stack socket's view of an IPv4 client)
UNMAPPED_V6 = V6.filter(lambda a: ipaddress.IPv6Address(a).ipv4_mapped is None)


@given(st.one_of(st.tuples(V4, V4), st.tuples(UNMAPPED_V6, UNMAPPED_V6)), PORT, PORT, st.binary(max_size=32),
       st.sampled_from([build_v1, build_v2]))
def test_round_trip_and_every_prefix_asks_for_more(addrs: tuple[str, str], sport: int, dport: int,
                                                    rest: bytes, build) -> None:  # type: ignore[no-untyped-def]
    raw = build((addrs[0], sport), (addrs[1], dport))
    header = parse(raw + rest)
    assert header is not None
    assert header.source == (_canonical(addrs[0]), sport)
    assert header.destination == (_canonical(addrs[1]), dport)
    assert header.length == len(raw)
    for cut in range(len(raw)):
        assert parse(raw[:cut]) is None


@given(st.binary(max_size=120))
def test_any_bytes_parse_or_raise_the_protocol_error(data: bytes) -> None:
    """Whatever a client sends: a header within the data, "more please", or ProxyProtocolError."""
    try:
        header = parse(data)
    except ProxyProtocolError:
        return
    assert header is None or 0 < header.length <= len(data)


@given(st.binary(min_size=1, max_size=60).filter(lambda b: b"\r\n" not in b))
def test_v1_garbage_after_the_signature_is_refused_or_incomplete(tail: bytes) -> None:
    try:
        assert parse(b"PROXY " + tail) is None  # no CRLF yet: only "need more"
    except ProxyProtocolError:
        pass
    assert not _accepts(b"PROXY TCP4 " + tail + b"\r\n") or _canonical_tcp4(tail)


def _canonical_tcp4(tail: bytes) -> bool:
    parts = tail.split(b" ")
    if len(parts) != 4:
        return False
    try:
        return all(str(ipaddress.IPv4Address(p.decode())) == p.decode() for p in parts[:2]) and \
            all(_is_canonical_port(p) for p in parts[2:])
    except (ValueError, UnicodeDecodeError):
        return False
