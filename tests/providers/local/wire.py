"""Client side of the end-to-end tests: one request over TCP or UDP, parsed by a pattern."""

from __future__ import annotations

import re
import socket


def http_reply(ip: str, port: int, pattern: re.Pattern[str], source: str | None = None) -> tuple[str, ...]:
    """The groups of ``pattern`` in the reply to one HTTP/1.0 GET (from ``source`` if given)."""
    with socket.create_connection((ip, port), timeout=3, source_address=(source, 0) if source else None) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: lb\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    m = pattern.search(data.decode(errors="replace"))
    assert m, data
    return m.groups()


def udp_reply(ip: str, port: int, pattern: re.Pattern[str]) -> tuple[str, ...]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.sendto(b"hi", (ip, port))
        data, _ = s.recvfrom(4096)
    m = pattern.search(data.decode(errors="replace"))
    assert m, data
    return m.groups()


def refused(ip: str, port: int, source: str) -> bool:
    """The connection was closed without a reply (a reset or an empty read)."""
    try:
        with socket.create_connection((ip, port), timeout=3, source_address=(source, 0)) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(4096) == b""
    except ConnectionError:
        return True
