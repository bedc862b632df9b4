"""``NftProxier``: keeps the kernel's ``ccm-proxy`` tables equal to the Services' plans.

Sync algorithm (kube-proxy's nftables proxier, pkg/proxy/nftables):

* One ``nft -f -`` transaction per sync, covering both families: the kernel is always at
  the state of some completed sync, so a crash or kill -9 leaves it consistent.
* Partial sync: only the Services named as changed are re-planned; their objects are diffed
  against an in-memory mirror of what the last successful transaction wrote, so the
  transaction is O(changed objects) whatever the Service count.
* Full sync (start, after any failure, and every ``full_sync_period`` on a periodic
  resync): the table is read back (``nft -j list table``), every object rewritten, maps
  re-filled, and chains and sets left by an earlier run that nobody wants are flushed
  and deleted. If even that transaction fails (a table of an incompatible layout), the
  table is deleted and rebuilt in one transaction.
* Chains no longer used are flushed at once and deleted more than ``stale_chain_delay``
  later in a separate transaction (kernels before 6.2 refuse the delete in the same one).
* After a successful sync, UDP conntrack entries of removed endpoints are flushed.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import time
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram

from ccm.proxy.nftables import conntrack as ct
from ccm.proxy.nftables.plan import FAMILIES, Family, ServiceRules, nodeport_ips, plan_service
from ccm.proxy.nftables.rules import NODEPORT_IPS, TABLE, Objects, merge, service_objects
from ccm.proxy.nftables.runner import NftError, NftRunner
from ccm.proxy.nftables.transaction import KernelTable, TableWriter, Transaction

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
SYNC_BURST = 2
SYNC_SHARE = 4

_BUCKETS = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048,
            4.096, 8.192, 16.384)
SYNC_DURATION = Histogram("kubeproxy_sync_proxy_rules_duration_seconds",
                          "SyncProxyRules latency in seconds", buckets=_BUCKETS)
FULL_SYNC_DURATION = Histogram("kubeproxy_sync_full_proxy_rules_duration_seconds",
                               "SyncProxyRules latency in seconds for full resyncs", buckets=_BUCKETS)
PARTIAL_SYNC_DURATION = Histogram("kubeproxy_sync_partial_proxy_rules_duration_seconds",
                                  "SyncProxyRules latency in seconds for partial resyncs", buckets=_BUCKETS)
NETWORK_PROGRAMMING = Histogram("kubeproxy_network_programming_duration_seconds",
                                "In Cluster Network Programming Latency in seconds",
                                buckets=(0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 30, 60, 120))
LAST_SYNC = Gauge("kubeproxy_sync_proxy_rules_last_timestamp_seconds",
                  "The last time proxy rules were successfully synced")
SYNC_FAILURES = Counter("kubeproxy_sync_proxy_rules_nftables_sync_failures",
                        "Cumulative proxy nftables sync failures")
CLEANUP_FAILURES = Counter("kubeproxy_sync_proxy_rules_nftables_cleanup_failures",
                           "Cumulative proxy nftables cleanup failures")


class ServiceSource(Protocol):
    """Where Services and their EndpointSlices come from (the node proxy's informer stores)."""

    def get(self, key: str) -> Obj | None: ...

    def keys(self) -> Iterable[str]: ...


@dataclass
class _Family:
    """The mirror of one family's table: what the last successful transaction left there."""

    owned: dict[str, Objects] = field(default_factory=dict)  # service key -> its objects
    plans: dict[str, ServiceRules] = field(default_factory=dict)
    chains: set[str] = field(default_factory=set)  # service chains in the kernel (incl. stale)
    stale: dict[str, float] = field(default_factory=dict)  # flushed chain -> since
    nodeport_ips: tuple[str, ...] | None = None
    #: (map, key) -> the Service whose element it is (two Services cannot share a frontend)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class SyncResult:
    full: bool
    services: int  # Services re-planned
    commands: int  # nft commands sent
    script_bytes: int
    seconds: float


class NftProxier:
    """The kernel data plane of one node; call ``sync`` from one thread only."""

    def __init__(self, node_name: str, *, runner: NftRunner | None = None,
                 conntrack: ct.Conntrack | None = None, families: Sequence[Family] = FAMILIES,
                 full_sync_period: float = 3600.0, min_sync_period: float = 0.1,
                 stale_chain_delay: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.node_name = node_name
        self.runner = runner or NftRunner()
        self.conntrack = conntrack or ct.Conntrack()
        self.families = tuple(families)
        self.match_all: bool | None = None  # nodePorts on every local address (``all``)
        self.full_sync_period = full_sync_period
        self.stale_chain_delay = stale_chain_delay
        # kube-proxy's BoundedFrequencyRunner: bursts of 2, then one sync per min_sync_period;
        # changes in between are batched (each nft run costs a process, ~5 ms of CPU)
        self.min_sync_period = min_sync_period
        self._tokens = float(SYNC_BURST)
        self._refilled = clock()
        self._deferred: set[str] = set()
        self._last_partial = 0.0  # seconds the last partial sync took
        self._warned_loopback = False
        self.clock = clock
        self._state = {f: _Family() for f in self.families}
        self._need_full = True
        self._first = True
        self._last_full = float("-inf")
        self._script_bytes = 0
        self._triggers: dict[str, str] = {}  # service key -> last trigger time observed
        self.last: SyncResult | None = None

    # -- the sync ----------------------------------------------------------------------------
    def sync(self, services: ServiceSource, slices_of: Callable[[str], Sequence[Obj]],
             keys: Iterable[str], full: bool, addresses: Sequence[str]) -> float | None:
        """Bring the kernel to the plans of ``keys`` (of every Service when ``full``).

        Returns in how many seconds stale chains are due for deletion (the caller syncs
        again then), or None. Raises NftError when the kernel refused the transaction; the
        next call then does a full sync.
        """
        start = self.clock()
        self._delete_stale(start)
        wait = self._take_token(start, forced=full or self._need_full)
        if wait is not None:
            self._deferred.update(keys)
            due = self.stale_chains_due(start)
            return wait if due is None else min(wait, due)
        keys = set(keys) | self._deferred
        self._deferred = set()
        if not self._warned_loopback and any(ipaddress.ip_address(a).is_loopback for a in addresses):
            self._warned_loopback = True  # as kube-proxy: route_localnet would open CVE-2020-8558
            log.warning("localhost nodePorts are not supported in nftables mode; loopback addresses skipped")
        match_all = nodeport_ips(addresses, "ip") is None
        if match_all != self.match_all:  # the fixed rules depend on it: rewrite them
            self.match_all = match_all
            self._need_full = True
        if self._need_full or (full and start - self._last_full >= self.full_sync_period):
            self._full_sync(services, slices_of, addresses, start)
        else:
            self._partial_sync(services, slices_of, set(keys) | (set(services.keys()) if full else set()),
                               addresses, start)
        return self.stale_chains_due(self.clock())

    def _take_token(self, now: float, forced: bool) -> float | None:
        """None when a sync may run now (a forced one always may), else seconds to wait.

        The refill period is ``min_sync_period``, or ``SYNC_SHARE`` times the last partial
        sync's duration when that is longer: under sustained churn syncing takes at most
        about 1/SYNC_SHARE of a core (a partial sync costs ~15 ms at 1,000 Services and
        ~0.15 s at 10,000, most of it nft reading the ruleset), while a lone change in a
        quiet period is applied at once (the burst).
        """
        period = max(self.min_sync_period, SYNC_SHARE * self._last_partial)
        if period <= 0:
            return None
        self._tokens = min(float(SYNC_BURST), self._tokens + (now - self._refilled) / period)
        self._refilled = now
        if self._tokens < 1 and not forced:
            return (1 - self._tokens) * period
        self._tokens = max(0.0, self._tokens - 1)
        return None

    def stale_chains_due(self, now: float) -> float | None:
        since = [t for st in self._state.values() for t in st.stale.values()]
        return max(0.0, min(since) + self.stale_chain_delay - now) + 0.05 if since else None

    def _plan(self, services: ServiceSource, slices_of: Callable[[str], Sequence[Obj]], key: str,
              family: Family) -> ServiceRules | None:
        """The new plan of ``key``, or None when its input is invalid (keep what is there)."""
        svc = services.get(key)
        if svc is None:
            return ServiceRules(key)
        rules = plan_service(svc, slices_of(key), self.node_name, family)
        if rules.error is not None:
            log.warning("%s: nftables rules left as they were: %s", key, rules.error)
            return None
        return rules

    def _full_sync(self, services: ServiceSource, slices_of: Callable[[str], Sequence[Obj]],
                   addresses: Sequence[str], start: float) -> None:
        keys = sorted(set(services.keys()) | {k for s in self._state.values() for k in s.owned})
        new_state: dict[Family, _Family] = {}
        tx = Transaction()
        for family in self.families:
            old = self._state[family]
            st = _Family(nodeport_ips=nodeport_ips(addresses, family))
            for key in keys:
                rules = self._plan(services, slices_of, key, family)
                if rules is None:  # invalid now: keep the last good plan's objects
                    if key in old.owned:
                        st.owned[key], st.plans[key] = old.owned[key], old.plans[key]
                    continue
                if rules.ports:
                    st.owned[key], st.plans[key] = service_objects(rules, family), rules
            for key in sorted(st.owned):
                _claim(key, st.owned[key], {}, st.owner, frozenset())
            new_state[family] = st
        try:
            kernel = {f: KernelTable.from_json(self.runner.list_objects(f, TABLE)) for f in self.families}
            for family, st in new_state.items():
                stale = TableWriter(tx, family).full(merge(st.owned.values()), kernel[family], bool(self.match_all),
                                                     st.nodeport_ips or (), recreate_base=self._first)
                st.chains = set().union(*(o.chains for o in st.owned.values())) | stale
                st.stale = {c: start for c in stale}
            self._run(tx)
        except NftError as e:
            SYNC_FAILURES.inc()
            log.warning("nftables full sync failed (%s); rebuilding the tables in one transaction", e)
            log.debug("rejected transaction:\n%s", tx.render())
            tx = Transaction()
            for family, st in new_state.items():
                writer = TableWriter(tx, family)
                writer.delete_table()
                writer.full(merge(st.owned.values()), KernelTable(), bool(self.match_all), st.nodeport_ips or (),
                            recreate_base=False)
                st.chains = set().union(*(o.chains for o in st.owned.values()))
                st.stale = {}
            try:
                self._run(tx)
            except NftError:
                self._need_full = True
                SYNC_FAILURES.inc()
                log.debug("rejected transaction:\n%s", tx.render())
                raise
        flushes = [f for family in self.families for key in keys
                   for f in self._stale_flows(family, key, new_state[family].plans.get(key))]
        self._state = new_state
        self._need_full = self._first = False
        self._last_full = start
        self._done(tx, start, len(keys), full=True, flushes=flushes, services=services, keys=keys,
                   slices_of=slices_of)

    def _partial_sync(self, services: ServiceSource, slices_of: Callable[[str], Sequence[Obj]],
                      keys: set[str], addresses: Sequence[str], start: float) -> None:
        tx = Transaction()
        updates: dict[Family, dict[str, tuple[ServiceRules, Objects]]] = {}
        flushes: list[ct.Flush] = []
        gone_chains: dict[Family, set[str]] = {}
        for family in self.families:
            st = self._state[family]
            writer = TableWriter(tx, family)
            ips = nodeport_ips(addresses, family)
            if ips != st.nodeport_ips:
                tx.add("flush", f"flush set {family} {TABLE} {NODEPORT_IPS}")
                writer.add_elements(NODEPORT_IPS, dict.fromkeys(ips or (), ""))
            updates[family] = {}
            gone_chains[family] = set()
            batch: dict[tuple[str, str], str] = {}  # this sync's claims; the mirror's index changes on success
            for key in sorted(keys):
                rules = self._plan(services, slices_of, key, family)
                if rules is None:
                    continue
                new = service_objects(rules, family)
                _claim(key, new, st.owner, batch, keys)
                gone_chains[family] |= writer.service(st.owned.get(key, Objects()), new, st.chains)
                updates[family][key] = (rules, new)
                flushes += self._stale_flows(family, key, rules)
        try:
            self._run(tx)
        except NftError as e:
            self._need_full = True
            SYNC_FAILURES.inc()
            log.debug("rejected transaction:\n%s", tx.render())
            raise NftError(f"nftables sync failed, next sync is a full one: {e}", e.stderr) from None
        for family in self.families:
            st = self._state[family]
            st.nodeport_ips = nodeport_ips(addresses, family)
            for key, (rules, objs) in updates[family].items():
                for m, elems in st.owned.get(key, Objects()).elements.items():
                    for k in elems:
                        if st.owner.get((m, k)) == key:
                            del st.owner[(m, k)]
                for m, elems in objs.elements.items():
                    st.owner.update(dict.fromkeys(((m, k) for k in elems), key))
                st.chains |= set(objs.chains)
                for chain in objs.chains:
                    st.stale.pop(chain, None)
                if rules.ports:
                    st.owned[key], st.plans[key] = objs, rules
                else:
                    st.owned.pop(key, None)
                    st.plans.pop(key, None)
            for chain in gone_chains[family]:
                if not any(chain in o.chains for o in st.owned.values()):
                    st.stale[chain] = start
        self._done(tx, start, len(keys), full=False, flushes=flushes, services=services, keys=keys,
                   slices_of=slices_of)

    def _stale_flows(self, family: Family, key: str, new: ServiceRules | None) -> list[ct.Flush]:
        old = self._state[family].plans.get(key)
        if old is None:
            return []
        return ct.stale_flows(old.ports, new.ports if new is not None else (), family)

    def _run(self, tx: Transaction) -> None:
        script = tx.render()
        self._script_bytes = len(script)
        self.runner.run(script)

    def _done(self, tx: Transaction, start: float, planned: int, *, full: bool, flushes: list[ct.Flush],
              services: ServiceSource, keys: Iterable[str], slices_of: Callable[[str], Sequence[Obj]]) -> None:
        elapsed = self.clock() - start
        self.last = SyncResult(full, planned, len(tx), self._script_bytes, elapsed)
        if not full:
            self._last_partial = elapsed
        SYNC_DURATION.observe(elapsed)
        (FULL_SYNC_DURATION if full else PARTIAL_SYNC_DURATION).observe(elapsed)
        LAST_SYNC.set_to_current_time()
        if flushes:
            self.conntrack.flush(flushes)
        self._observe_programming(keys, slices_of)
        log.debug("nftables %s sync: %d services, %d commands, %.3fs", "full" if full else "partial",
                  planned, len(tx), elapsed)

    def _observe_programming(self, keys: Iterable[str], slices_of: Callable[[str], Sequence[Obj]]) -> None:
        """kube-proxy's network programming latency: slice trigger time -> rules in the kernel."""
        now = datetime.datetime.now(datetime.UTC)
        for key in keys:
            stamps = [((s.get("metadata") or {}).get("annotations") or {}).get(TRIGGER_TIME)
                      for s in slices_of(key)]
            latest = max((t for t in stamps if t), default=None)
            if latest is None or self._triggers.get(key) == latest:
                continue
            self._triggers[key] = latest
            try:
                when = datetime.datetime.fromisoformat(latest.replace("Z", "+00:00"))
            except ValueError:
                continue
            NETWORK_PROGRAMMING.observe(max(0.0, (now - when).total_seconds()))

    def _delete_stale(self, now: float) -> None:
        """Delete chains flushed more than ``stale_chain_delay`` ago, in their own transaction."""
        due = {f: [c for c, since in st.stale.items() if now - since > self.stale_chain_delay]
               for f, st in self._state.items()}
        if not any(due.values()):
            return
        tx = Transaction()
        for family, chains in due.items():
            TableWriter(tx, family).delete_chains(chains)
        try:
            self._run(tx)
        except NftError as e:
            CLEANUP_FAILURES.inc()
            log.warning("deleting %d stale nftables chains failed (retried later): %s",
                        sum(map(len, due.values())), e)
            return
        for family, chains in due.items():
            st = self._state[family]
            for chain in chains:
                st.stale.pop(chain, None)
                st.chains.discard(chain)

    # -- inspection and cleanup ----------------------------------------------------------------
    def cleanup(self) -> None:
        """Delete our tables (``--cleanup``); absent tables are fine."""
        cleanup(self.runner, self.families)
        self._state = {f: _Family() for f in self.families}
        self._need_full = True


def cleanup(runner: NftRunner, families: Iterable[Family] = FAMILIES) -> None:
    tx = Transaction()
    for family in families:
        TableWriter(tx, family).delete_table()
    runner.run(tx.render())


def _claim(key: str, objs: Objects, owner: Mapping[tuple[str, str], str], batch: dict[tuple[str, str], str],
           replanned: Container[str]) -> None:
    """Two Services claiming one frontend (the same VIP and port): the Service that holds it
    keeps it; among those (re-)planned together, the first by key. Costs O(objs), not O(all)."""
    for m, elems in objs.elements.items():
        for k in list(elems):
            current = batch.get((m, k))
            if current is None:
                holder = owner.get((m, k))
                current = holder if holder is not None and holder not in replanned else None
            if current is None or current == key:
                batch[(m, k)] = key
            else:
                log.warning("%s: %s %s is already used by %s; left to it", key, m, k, current)
                del elems[k]
