"""Deterministic names: the same Service always gets the same names, so a crash never duplicates.

Each builder documents the cloud limits it satisfies, next to the code that must respect them.
"""

from __future__ import annotations

import hashlib


def default_load_balancer_name(uid: str) -> str:
    """Upstream ``DefaultLoadBalancerName``: "a" + uid without dashes, cut to 32 characters.

    "a" because GCE names need a leading lowercase letter; 32 because of the AWS ELB limit.
    """
    return ("a" + uid).replace("-", "")[:32]


def digest(*parts: object, length: int = 10) -> str:
    """The first ``length`` hex digits of sha256 over ``parts`` joined by "/" (stable across runs)."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def bounded_name(prefix: str, middle: str, *hashed: object, limit: int, hash_length: int = 10, sep: str = "-") -> str:
    """``<prefix><middle><sep><hash>`` where the hash covers ``hashed``, within ``limit`` characters.

    ``middle`` is cut (never the hash) when the whole would exceed ``limit``; a prefix and hash
    that alone exceed it are a programming error.
    """
    tail = sep + digest(*hashed, length=hash_length)
    room = limit - len(prefix) - len(tail)
    if room < 0:
        raise ValueError(f"{prefix!r} with a {hash_length}-digit hash exceeds {limit} characters")
    return prefix + middle[:room] + tail
