"""Source-range matching with precomputed integer intervals.

``ipaddress`` objects cost microseconds per accept; here a client address becomes one
integer (``inet_pton``) and one ``bisect`` over merged, sorted intervals per family.
"""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_right
from collections.abc import Iterable

_inet_pton = socket.inet_pton
_from_bytes = int.from_bytes
_AF4 = socket.AF_INET
_AF6 = socket.AF_INET6


def _merge(intervals: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    intervals.sort()
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in intervals:
        if ends and lo <= ends[-1] + 1:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends


class SourceRanges:
    """An allow-list of CIDRs; empty allows everyone. Invalid CIDRs raise ``ValueError``."""

    __slots__ = ("_e4", "_e6", "_s4", "_s6", "cidrs")

    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        self.cidrs = tuple(c.strip() for c in cidrs if c.strip())
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for cidr in self.cidrs:
            net = ipaddress.ip_network(cidr, strict=False)
            (v4 if net.version == 4 else v6).append(
                (int(net.network_address), int(net.broadcast_address)))
        self._s4, self._e4 = _merge(v4)
        self._s6, self._e6 = _merge(v6)

    def __bool__(self) -> bool:
        return bool(self.cidrs)

    def allows(self, ip: str) -> bool:
        if not self.cidrs:
            return True
        try:
            if ":" in ip:
                if ip.startswith("::ffff:") and "." in ip:  # v4-mapped (dual-stack socket)
                    return self._match(_from_bytes(_inet_pton(_AF4, ip[7:]), "big"), self._s4, self._e4)
                return self._match(_from_bytes(_inet_pton(_AF6, ip.split("%", 1)[0]), "big"),
                                   self._s6, self._e6)
            return self._match(_from_bytes(_inet_pton(_AF4, ip), "big"), self._s4, self._e4)
        except OSError:
            return False

    @staticmethod
    def _match(value: int, starts: list[int], ends: list[int]) -> bool:
        i = bisect_right(starts, value) - 1
        return i >= 0 and value <= ends[i]
