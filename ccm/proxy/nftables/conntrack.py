"""Stale UDP conntrack entries: flush the flows still DNATed to an endpoint that went.

A UDP "connection" lives in conntrack until it is idle for the UDP timeout; while it lives
its packets keep the old DNAT, so a client resending to a Service (DNS!) keeps talking to
an endpoint that is gone. kube-proxy deletes those entries after each sync; we do it for
the endpoints a sync removed, matching on what the entry was sent to (the frontend port,
and the VIP) and where the reply comes from (the endpoint), so only flows through the
Service to that endpoint go. TCP entries are left alone: a TCP flow to a removed endpoint
ends by itself (RST or timeout), and in-flight TCP connections to a still-running
terminating endpoint must survive.

Uses the ``conntrack`` tool (conntrack-tools), argv only.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from ccm.proxy.nftables.plan import Dest, Family, PortPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flush:
    """Delete UDP entries sent to ``orig_dst``:``orig_port`` whose reply comes from ``dest``."""

    family: Family
    orig_port: int
    dest: Dest
    orig_dst: str | None = None  # None: any destination (nodePorts answer on several IPs)

    def argv(self) -> list[str]:
        argv = ["-D", "-f", "ipv6" if self.family == "ip6" else "ipv4", "-p", "udp",
                "--orig-port-dst", str(self.orig_port),
                "--reply-src", self.dest.ip, "--reply-port-src", str(self.dest.port)]
        if self.orig_dst is not None:
            argv += ["--orig-dst", self.orig_dst]
        return argv


def stale_flows(old: Iterable[PortPlan], new: Iterable[PortPlan], family: Family) -> list[Flush]:
    """The flushes a change from ``old`` to ``new`` ports (of one Service) calls for."""
    kept: dict[str, set[Dest]] = {}
    for p in new:
        kept[p.name] = set(p.cluster) | set(p.local or ())
    out: list[Flush] = []
    for p in old:
        if p.protocol != "udp":
            continue
        gone = (set(p.cluster) | set(p.local or ())) - kept.get(p.name, set())
        for dest in sorted(gone):
            if p.node_port:
                out.append(Flush(family, p.node_port, dest))
            out += [Flush(family, p.port, dest, vip) for vip in p.vips]
    return out


class Conntrack:
    """Runs the flushes; a missing tool is logged once and tolerated (entries then expire)."""

    def __init__(self, binary: str = "conntrack") -> None:
        self.binary = shutil.which(binary)
        self.deleted_calls = 0
        self._warned = False

    def flush(self, flushes: Iterable[Flush]) -> int:
        """Run each flush; returns how many failed."""
        failures = 0
        for f in flushes:
            if self.binary is None:
                if not self._warned:
                    log.warning("conntrack not found (install conntrack): stale UDP flows to removed "
                                "endpoints live until they time out")
                    self._warned = True
                return 0
            try:
                proc = subprocess.run([self.binary, *f.argv()], capture_output=True, text=True,
                                      timeout=10, check=False)
            except (OSError, subprocess.TimeoutExpired) as e:
                log.warning("conntrack %s: %s", " ".join(f.argv()), e)
                failures += 1
                continue
            # exit 1 with "0 flow entries have been deleted" is success: nothing was stale
            if proc.returncode != 0 and "0 flow entries" not in proc.stderr:
                log.warning("conntrack %s: %s", " ".join(f.argv()), proc.stderr.strip()[:300])
                failures += 1
            else:
                self.deleted_calls += 1
        return failures
