"""The process's open-file limit: raised to the hard limit at start, as Go does for kube-proxy.

A proxy holds two descriptors per TCP connection and one per UDP flow, so the usual soft
limit of 1024 caps it near 500 connections while the hard limit (often 524288 or more) sits
unused. Go's runtime raises the soft limit to the hard one at start (Go 1.19+), which is
what kube-proxy runs with; we do the same, and report both numbers so an operator can tell
whether a burst can exhaust them (``ccm_node_proxy_open_files_limit``).
"""

from __future__ import annotations

import logging
import resource
from pathlib import Path

from prometheus_client import Gauge

log = logging.getLogger(__name__)

OPEN_FILES_LIMIT = Gauge("ccm_node_proxy_open_files_limit",
                         "RLIMIT_NOFILE of the node proxy after start-up (soft: in force; hard: its ceiling).",
                         ["limit"])
NR_OPEN = Path("/proc/sys/fs/nr_open")


def _ceiling(hard: int) -> int:
    """What the soft limit can be raised to: the hard limit, or fs.nr_open when that is infinite."""
    if hard != resource.RLIM_INFINITY:
        return hard
    try:
        return int(NR_OPEN.read_text())
    except (OSError, ValueError):
        return 1 << 20  # the kernel's default nr_open


def raise_open_files_limit() -> tuple[int, int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns (soft before, soft now, hard).

    A failed raise (a sandbox refusing it) keeps the old limit: the proxy still works, with
    fewer connections, and the log says so.
    """
    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _ceiling(hard)
    soft = before
    if before != resource.RLIM_INFINITY and before < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as e:
            log.warning("cannot raise the open-files limit from %d to %d: %s", before, target, e)
    OPEN_FILES_LIMIT.labels("soft").set(soft)
    OPEN_FILES_LIMIT.labels("hard").set(hard)
    return before, soft, hard
