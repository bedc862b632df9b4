"""The local cloud's only durable state: which VIP belongs to which Service.

Allocations carry their owner (cluster, Service uid, ``namespace/name``) so a
restarted controller re-adopts each Service at the same VIP, and a VIP held by
another cluster sharing the file is never handed out or released. The file is
rewritten atomically (temp file + ``os.replace``) on every change, so a crash
leaves either the old or the new allocation table, never half of one. Every
query re-reads it under an advisory lock on its directory (the file itself is
replaced, so it cannot carry the lock): another process sharing the file is seen
at once and never has its allocations overwritten.
"""

from __future__ import annotations

import dataclasses
import fcntl
import ipaddress
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import Gauge

from providers.local.statedir import ensure_private_dir

log = logging.getLogger(__name__)

#: pool usage, so exhaustion is visible before a Service waits on it (peers.md 4.11)
VIP_POOL_ADDRESSES = Gauge("ccm_local_vip_pool_addresses", "Addresses of the local VIP pool.", ["pool"])
VIP_POOL_IN_USE = Gauge("ccm_local_vip_pool_addresses_in_use",
                        "Addresses of the local VIP pool held by Services.", ["pool"])

STATE_VERSION = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Owner:
    cluster: str
    uid: str
    key: str  # namespace/name, for messages only: the uid decides ownership


class VipTable:
    """VIP -> owner, persisted in a JSON file; thread-safe."""

    def __init__(self, pool: ipaddress.IPv4Network, state_file: Path) -> None:
        self.pool = pool
        self.state_file = state_file
        self._lock = threading.Lock()
        ensure_private_dir(self.state_file.parent)  # UnsafeStateDirectory (a ValueError) stops start-up
        self._owners: dict[str, Owner] = {}
        VIP_POOL_ADDRESSES.labels(str(pool)).set(sum(1 for _ in self._candidates()))
        with self._synced():
            self._publish()

    @contextmanager
    def _synced(self) -> Iterator[None]:
        """This process's lock, the cross-process lock, and the table as the file has it now."""
        with self._lock:
            fd = os.open(self.state_file.parent, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._owners = self._load()
                yield
            finally:
                os.close(fd)  # releases the flock

    def _publish(self) -> None:
        VIP_POOL_IN_USE.labels(str(self.pool)).set(sum(1 for ip in self._owners if self.in_pool(ip)))

    def _load(self) -> dict[str, Owner]:
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
            return {
                str(ipaddress.IPv4Address(ip)): Owner(str(o["cluster"]), str(o["uid"]), str(o["key"]))
                for ip, o in data.get("allocations", {}).items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(
                f"local provider state file {self.state_file} is unreadable ({e}); "
                "fix or remove it (removing forgets which Service holds which VIP)"
            ) from None

    def _save(self) -> None:
        data = {
            "version": STATE_VERSION,
            "pool": str(self.pool),
            "allocations": {ip: dataclasses.asdict(o) for ip, o in sorted(self._owners.items())},
        }
        ensure_private_dir(self.state_file.parent)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.state_file.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_file)
            self._publish()
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def owner_of(self, ip: str) -> Owner | None:
        with self._synced():
            return self._owners.get(ip)

    def ip_of(self, cluster: str, uid: str) -> str | None:
        with self._synced():
            return next((ip for ip, o in self._owners.items() if o.cluster == cluster and o.uid == uid), None)

    def in_pool(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in self.pool
        except ValueError:
            return False

    def _candidates(self) -> Iterator[str]:
        hosts = self.pool.hosts() if self.pool.prefixlen < 31 else iter(self.pool)
        for addr in hosts:
            yield str(addr)

    def first_free(self, skip: frozenset[str] = frozenset()) -> str | None:
        with self._synced():
            return next((ip for ip in self._candidates() if ip not in self._owners and ip not in skip), None)

    def assign(self, ip: str, owner: Owner) -> bool:
        """Record ``ip`` for ``owner``; False (nothing written) when it is already so."""
        with self._synced():
            current = self._owners.get(ip)
            if current == owner:
                return False
            if current is not None and (current.cluster, current.uid) != (owner.cluster, owner.uid):
                raise ValueError(f"{ip} is held by {current.key} of cluster {current.cluster}")
            self._owners[ip] = owner
            self._save()
            return True

    def release(self, ip: str, cluster: str, uid: str) -> bool:
        """Forget ``ip`` if this owner holds it; False when there was nothing to release."""
        with self._synced():
            current = self._owners.get(ip)
            if current is None or (current.cluster, current.uid) != (cluster, uid):
                return False
            del self._owners[ip]
            self._save()
            return True

    def allocations(self) -> dict[str, Owner]:
        with self._synced():
            return dict(self._owners)
