"""Go's ``net/netip`` address and prefix parsing, ported for the CEL test environment.

Kubernetes' CEL ``isIP``/``ip`` and ``isCIDR``/``cidr`` are ``netip.ParseAddr`` and
``netip.ParsePrefix`` plus two refusals (zones, IPv4-mapped IPv6 addresses). This is a port of Go's
algorithm, deliberately independent of Python's ``ipaddress`` (which the registry uses), so the
agreement tests compare two implementations rather than one with itself.
"""

from __future__ import annotations


class ParseError(ValueError):
    pass


def _ipv4_fields(s: str) -> bytes:
    fields, val, digits = [], 0, 0
    for i, c in enumerate(s):
        if "0" <= c <= "9":
            if digits == 1 and val == 0:
                raise ParseError("IPv4 field has octet with leading zero")
            val = val * 10 + ord(c) - 48
            digits += 1
            if val > 255:
                raise ParseError("IPv4 field has value >255")
        elif c == ".":
            if i == 0 or i == len(s) - 1 or s[i - 1] == ".":
                raise ParseError("IPv4 field must have at least one digit")
            if len(fields) == 3:
                raise ParseError("IPv4 address too long")
            fields.append(val)
            val, digits = 0, 0
        else:
            raise ParseError("unexpected character")
    if len(fields) < 3:
        raise ParseError("IPv4 address too short")
    return bytes([*fields, val])


_HEX = {**{c: ord(c) - 48 for c in "0123456789"}, **{c: ord(c) - 87 for c in "abcdef"},
        **{c: ord(c) - 55 for c in "ABCDEF"}}


def _ipv6(text: str) -> tuple[bytes, str]:
    s, zone = text, ""
    if "%" in s:
        s, zone = s[:s.index("%")], s[s.index("%") + 1:]
        if not zone:
            raise ParseError("zone must be a non-empty string")
    ip = bytearray(16)
    ellipsis = -1
    if s.startswith("::"):
        ellipsis, s = 0, s[2:]
        if not s:
            return bytes(ip), zone
    i = 0
    while i < 16:
        off, acc = 0, 0
        while off < len(s) and s[off] in _HEX:
            acc = (acc << 4) + _HEX[s[off]]
            if off > 3:
                raise ParseError("each group must have 4 or less digits")
            off += 1
        if off == 0:
            raise ParseError("each colon-separated field must have at least one digit")
        if off < len(s) and s[off] == ".":
            if ellipsis < 0 and i != 12:
                raise ParseError("embedded IPv4 address must replace the final 2 fields of the address")
            if i + 4 > 16:
                raise ParseError("too many hex fields to fit an embedded IPv4 at the end of the address")
            ip[i:i + 4] = _ipv4_fields(s)
            s, i = "", i + 4
            break
        ip[i], ip[i + 1] = acc >> 8, acc & 0xFF
        i += 2
        s = s[off:]
        if not s:
            break
        if s[0] != ":":
            raise ParseError("unexpected character, want colon")
        if len(s) == 1:
            raise ParseError("colon must be followed by more characters")
        s = s[1:]
        if s[0] == ":":
            if ellipsis >= 0:
                raise ParseError("multiple :: in address")
            ellipsis, s = i, s[1:]
            if not s:
                break
    if s:
        raise ParseError("trailing garbage after address")
    if i < 16:
        if ellipsis < 0:
            raise ParseError("address string too short")
        n = 16 - i
        ip[ellipsis + n:16] = ip[ellipsis:i]
        ip[ellipsis:ellipsis + n] = bytes(n)
    elif ellipsis >= 0:
        raise ParseError("the :: must expand to at least one field of zeros")
    return bytes(ip), zone


def parse_addr(s: str) -> tuple[bytes, str]:
    """``netip.ParseAddr``: (4 or 16 bytes, zone)."""
    for c in s:
        if c == ".":
            return _ipv4_fields(s), ""
        if c == ":":
            return _ipv6(s)
        if c == "%":
            raise ParseError("missing IPv6 address")
    raise ParseError("unable to parse IP")


def parse_prefix(s: str) -> tuple[bytes, int]:
    """``netip.ParsePrefix``: (address bytes, bits)."""
    if "/" not in s:
        raise ParseError("no '/'")
    i = s.rindex("/")
    addr, zone = parse_addr(s[:i])
    if len(addr) == 16 and zone:
        raise ParseError("IPv6 zones cannot be present in a prefix")
    bits = s[i + 1:]
    # no sign and no leading zero (Go checks the first byte, then strconv.Atoi the rest)
    if not bits or not all("0" <= c <= "9" for c in bits) or (len(bits) > 1 and bits[0] == "0"):
        raise ParseError("bad bits after slash")
    value = int(bits)
    if not 0 <= value <= len(addr) * 8:
        raise ParseError("prefix length out of range")
    return addr, value


def is_4in6(addr: bytes) -> bool:
    return len(addr) == 16 and addr[:12] == bytes(10) + b"\xff\xff"


def k8s_ip(s: str) -> bytes:
    """Kubernetes CEL ``ip()``: no zone, no IPv4-mapped IPv6."""
    addr, zone = parse_addr(s)
    if zone:
        raise ParseError("IP address with zone value is not allowed")
    if is_4in6(addr):
        raise ParseError("IPv4-mapped IPv6 address is not allowed")
    return addr


def k8s_cidr(s: str) -> tuple[bytes, int]:
    """Kubernetes CEL ``cidr()``: no IPv4-mapped IPv6."""
    addr, bits = parse_prefix(s)
    if is_4in6(addr):
        raise ParseError("IPv4-mapped IPv6 address is not allowed")
    return addr, bits
