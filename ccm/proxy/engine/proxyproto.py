"""PROXY protocol v1 (text) and v2 (binary) headers: parse from a client, build for a backend.

Parsing works on a peeked prefix of the stream so that the payload after the header stays
in the socket (the splice path never sees the header). ``parse`` returns None while the
header is still incomplete.

Version 1 is parsed as strictly as the specification writes it (haproxy's proxy-protocol.txt,
2.1): fields separated by exactly one space, ports decimal in 0..65535 without sign, spaces,
underscores or leading zeros, IPv4 addresses dotted-quad without leading zeros, addresses
literal (``inet_pton``, never a name lookup). Python's ``int()`` alone would take ``+1``,
`` 1``, ``1_000`` and ``0080``; a lenient parser is a second opinion on what the client is.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX = 107  # the spec's longest v1 line, CRLF included
#: the most we ever need to peek: v2 fixed part + the largest address block we parse (+ TLVs)
PEEK_MAX = 16 + 1024
_V2_HEAD = struct.Struct("!12sBBH")
_V2_INET = struct.Struct("!4s4sHH")
_V2_INET6 = struct.Struct("!16s16sHH")
_V1_PORT = re.compile(rb"0|[1-9][0-9]{0,4}")


class ProxyProtocolError(ValueError):
    """The client sent something that is not a valid PROXY header."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    length: int  # bytes to consume from the stream
    source: tuple[str, int] | None  # None for LOCAL / UNKNOWN: use the connection's own peer
    destination: tuple[str, int] | None
    version: int


def parse(data: bytes) -> ProxyHeader | None:
    """Parse a header at the start of ``data``; None means "need more bytes"."""
    if data[:1] == b"\r":
        if len(data) < 16:
            if not V2_SIGNATURE.startswith(data[:12]):
                raise ProxyProtocolError("bad PROXY v2 signature")
            return None
        return _parse_v2(data)
    if data[:1] == b"P":
        return _parse_v1(data)
    if not data:
        return None
    raise ProxyProtocolError("connection does not start with a PROXY protocol header")


def _parse_v1(data: bytes) -> ProxyHeader | None:
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if not b"PROXY ".startswith(data[:6]):
            raise ProxyProtocolError("bad PROXY v1 signature")
        if len(data) >= V1_MAX:
            raise ProxyProtocolError("PROXY v1 line longer than 107 bytes")
        return None
    parts = data[:end].split(b" ")
    if parts[0] != b"PROXY" or len(parts) < 2:
        raise ProxyProtocolError("bad PROXY v1 signature")
    if parts[1] == b"UNKNOWN":
        return ProxyHeader(end + 2, None, None, 1)
    if parts[1] not in (b"TCP4", b"TCP6") or len(parts) != 6:
        raise ProxyProtocolError(f"bad PROXY v1 line {data[:end]!r}")
    family = socket.AF_INET if parts[1] == b"TCP4" else socket.AF_INET6
    src, dst = _v1_address(family, parts[2], data[:end]), _v1_address(family, parts[3], data[:end])
    return ProxyHeader(end + 2, (src, _v1_port(parts[4], data[:end])), (dst, _v1_port(parts[5], data[:end])), 1)


def _v1_address(family: socket.AddressFamily, field: bytes, line: bytes) -> str:
    """A literal address of ``family``, returned in its canonical text form."""
    try:
        text = field.decode("ascii")
        canonical = socket.inet_ntop(family, socket.inet_pton(family, text))
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        raise ProxyProtocolError(f"bad PROXY v1 address in {line!r}") from e
    if family == socket.AF_INET and canonical != text:  # leading zeros, whatever a libc tolerates
        raise ProxyProtocolError(f"bad PROXY v1 address in {line!r}")
    return canonical


def _v1_port(field: bytes, line: bytes) -> int:
    if _V1_PORT.fullmatch(field) is None or int(field) > 65535:
        raise ProxyProtocolError(f"bad PROXY v1 port in {line!r}")
    return int(field)


def _parse_v2(data: bytes) -> ProxyHeader | None:
    sig, ver_cmd, fam, length = _V2_HEAD.unpack_from(data)
    if sig != V2_SIGNATURE:
        raise ProxyProtocolError("bad PROXY v2 signature")
    if ver_cmd >> 4 != 2 or ver_cmd & 0xF not in (0, 1):
        raise ProxyProtocolError(f"bad PROXY v2 version/command byte 0x{ver_cmd:02x}")
    total = 16 + length
    if len(data) < total:
        if total > PEEK_MAX:
            raise ProxyProtocolError(f"PROXY v2 header of {total} bytes is too long")
        return None
    if ver_cmd & 0xF == 0:  # LOCAL: health checks from the balancer itself
        return ProxyHeader(total, None, None, 2)
    af = fam >> 4
    if af == 1 and length >= _V2_INET.size:
        s, d, sp, dp = _V2_INET.unpack_from(data, 16)
        return ProxyHeader(total, (socket.inet_ntop(socket.AF_INET, s), sp),
                           (socket.inet_ntop(socket.AF_INET, d), dp), 2)
    if af == 2 and length >= _V2_INET6.size:
        s, d, sp, dp = _V2_INET6.unpack_from(data, 16)
        return ProxyHeader(total, (socket.inet_ntop(socket.AF_INET6, s), sp),
                           (socket.inet_ntop(socket.AF_INET6, d), dp), 2)
    if af == 0:  # UNSPEC
        return ProxyHeader(total, None, None, 2)
    raise ProxyProtocolError(f"unsupported PROXY v2 address family byte 0x{fam:02x}")


def _is_v6(ip: str) -> bool:
    return ":" in ip


def build_v1(source: tuple[str, int], destination: tuple[str, int]) -> bytes:
    src_ip, dst_ip = _unmap(source[0]), _unmap(destination[0])
    if _is_v6(src_ip) != _is_v6(dst_ip):
        return b"PROXY UNKNOWN\r\n"
    proto = "TCP6" if _is_v6(src_ip) else "TCP4"
    return f"PROXY {proto} {src_ip} {dst_ip} {source[1]} {destination[1]}\r\n".encode("ascii")


def build_v2(source: tuple[str, int], destination: tuple[str, int]) -> bytes:
    src_ip, dst_ip = _unmap(source[0]), _unmap(destination[0])
    if _is_v6(src_ip) != _is_v6(dst_ip):
        return _V2_HEAD.pack(V2_SIGNATURE, 0x21, 0x00, 0)
    if _is_v6(src_ip):
        body = _V2_INET6.pack(socket.inet_pton(socket.AF_INET6, src_ip),
                              socket.inet_pton(socket.AF_INET6, dst_ip), source[1], destination[1])
        return _V2_HEAD.pack(V2_SIGNATURE, 0x21, 0x21, len(body)) + body
    body = _V2_INET.pack(socket.inet_aton(src_ip), socket.inet_aton(dst_ip), source[1], destination[1])
    return _V2_HEAD.pack(V2_SIGNATURE, 0x21, 0x11, len(body)) + body


def build(version: int, source: tuple[str, int], destination: tuple[str, int]) -> bytes:
    return build_v1(source, destination) if version == 1 else build_v2(source, destination)


def _unmap(ip: str) -> str:
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip
