"""Source-range intervals and the PROXY protocol codec."""

from __future__ import annotations

import pytest

from ccm.proxy.engine import proxyproto
from ccm.proxy.engine.proxyproto import ProxyProtocolError, build_v1, build_v2, parse
from ccm.proxy.engine.ranges import SourceRanges


@pytest.mark.parametrize(("cidrs", "ip", "allowed"), [
    pytest.param((), "1.2.3.4", True, id="empty-allows-all"),
    pytest.param(("10.0.0.0/8",), "10.255.255.255", True, id="v4-edge-high"),
    pytest.param(("10.0.0.0/8",), "11.0.0.0", False, id="v4-outside"),
    pytest.param(("10.0.0.0/8", "10.1.0.0/16", "192.168.1.7/32"), "192.168.1.7", True, id="merged-host"),
    pytest.param(("192.168.1.7/32",), "192.168.1.8", False, id="host-neighbour"),
    pytest.param(("0.0.0.0/0",), "::1", False, id="v4-range-not-v6"),
    pytest.param(("::/0",), "2001:db8::1", True, id="v6-all"),
    pytest.param(("2001:db8::/32",), "2001:db9::1", False, id="v6-outside"),
    pytest.param(("127.0.0.2/32",), "::ffff:127.0.0.2", True, id="v4-mapped"),
    pytest.param(("10.0.0.0/8",), "not-an-ip", False, id="garbage"),
    pytest.param((" 10.0.0.1/24 ",), "10.0.0.200", True, id="host-bits-and-spaces"),
])
def test_source_ranges(cidrs: tuple[str, ...], ip: str, allowed: bool) -> None:
    assert SourceRanges(cidrs).allows(ip) is allowed


def test_invalid_cidr_raises() -> None:
    with pytest.raises(ValueError):
        SourceRanges(("10.0.0.0/33",))


@pytest.mark.parametrize("build", [build_v1, build_v2])
@pytest.mark.parametrize(("src", "dst"), [
    (("192.0.2.1", 12345), ("198.51.100.2", 443)),
    (("2001:db8::1", 1), ("2001:db8::2", 65535)),
])
def test_round_trip(build, src, dst) -> None:  # type: ignore[no-untyped-def]
    raw = build(src, dst)
    header = parse(raw + b"rest")
    assert header is not None
    assert (header.source, header.destination, header.length) == (src, dst, len(raw))
    for cut in range(len(raw)):  # every strict prefix asks for more
        assert parse(raw[:cut]) is None


def test_v1_unknown_and_v2_local_have_no_source() -> None:
    assert parse(b"PROXY UNKNOWN\r\n") == proxyproto.ProxyHeader(15, None, None, 1)
    local = proxyproto.V2_SIGNATURE + bytes([0x20, 0x00, 0, 0])
    assert parse(local) == proxyproto.ProxyHeader(16, None, None, 2)


@pytest.mark.parametrize("data", [
    pytest.param(b"GET / HTTP/1.1\r\n", id="http"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", id="v1-missing-port"),
    pytest.param(b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n", id="v1-mixed-family"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n", id="v1-port-range"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 1_000 80\r\n", id="v1-port-underscore"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 80\r\n", id="v1-port-plus"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 -0 80\r\n", id="v1-port-minus-zero"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n", id="v1-port-leading-zero"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 80 \r\n", id="v1-trailing-space"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8  1 80\r\n", id="v1-double-space"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 1\t 80\r\n", id="v1-port-tab"),
    pytest.param("PROXY TCP4 1.2.3.4 5.6.7.8 \u0661 80\r\n".encode(), id="v1-port-arabic-digit"),
    pytest.param(b"PROXY TCP4 01.2.3.4 5.6.7.8 1 80\r\n", id="v1-v4-leading-zero"),
    pytest.param(b"PROXY TCP4 localhost 5.6.7.8 1 80\r\n", id="v1-hostname"),
    pytest.param(b"PROXY TCP6 fe80::1%lo ::1 1 80\r\n", id="v1-v6-zone"),
    pytest.param(b"PROXY TCP4 1.2.3 5.6.7.8 1 80\r\n", id="v1-v4-short"),
    pytest.param(b"PROXY " + b"9" * 120, id="v1-too-long"),
    pytest.param(b"\r\n\r\n\x00\r\nQUIX\n!\x11\x00\x0c", id="v2-bad-signature"),
    pytest.param(proxyproto.V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12), id="v2-bad-version"),
    pytest.param(proxyproto.V2_SIGNATURE + b"\x21\x11\xff\xff", id="v2-too-long"),
])
def test_invalid_headers(data: bytes) -> None:
    with pytest.raises(ProxyProtocolError):
        parse(data)
