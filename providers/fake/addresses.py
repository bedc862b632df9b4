"""Stable documentation-range addresses (192.0.2.0/24, RFC 5737) handed out per Service uid."""

from __future__ import annotations

import hashlib
import ipaddress
import threading

_NET = ipaddress.ip_network("192.0.2.0/24")
_HOSTS = [str(h) for h in _NET.hosts()]


class AddressPool:
    """Deterministic per uid: the hash of the uid picks the first candidate, probing on collision.

    Once all 254 addresses are in use, addresses are shared (the fake never fails for lack of
    addresses: benchmarks run 1,000 load balancers).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_uid: dict[str, str] = {}
        self._used: dict[str, str] = {}

    @staticmethod
    def _start(uid: str) -> int:
        return int.from_bytes(hashlib.sha256(uid.encode()).digest()[:4], "big") % len(_HOSTS)

    def allocate(self, uid: str) -> str:
        with self._lock:
            if uid in self._by_uid:
                return self._by_uid[uid]
            start = self._start(uid)
            ip = _HOSTS[start]
            for i in range(len(_HOSTS)):
                candidate = _HOSTS[(start + i) % len(_HOSTS)]
                if candidate not in self._used:
                    ip = candidate
                    break
            self._by_uid[uid] = ip
            self._used.setdefault(ip, uid)
            return ip

    def release(self, uid: str) -> None:
        with self._lock:
            ip = self._by_uid.pop(uid, None)
            if ip is not None and self._used.get(ip) == uid:
                del self._used[ip]
