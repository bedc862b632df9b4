"""One nft transaction as text, built from differences (pure; ``runner`` sends it).

The script is plain nft commands for ``nft -f -``, the syntax knftables writes: the kernel
applies all of it or none. Commands are emitted in phases so every reference resolves:
map elements that point at a chain about to go are deleted first, then chains are added
or flushed, affinity sets deleted and re-added, rules written, new elements added. A
chain that is no longer used is only flushed here; it is deleted in a later transaction
(``delete_chains``), because kernels before 6.2 still count the reference of a map element
deleted in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ccm.proxy.nftables.plan import Family
from ccm.proxy.nftables.rules import MAPS, NODEPORT_IPS, TABLE, Objects, affinity_set_spec, skeleton

PHASES = ("delete-elements", "chains", "flush", "delete-sets", "sets", "rules", "elements")


@dataclass
class KernelTable:
    """What ``nft -j list table`` showed of our table: names, and affinity set timeouts."""

    chains: set[str] = field(default_factory=set)
    sets: dict[str, int | None] = field(default_factory=dict)  # set -> timeout (None: no timeout)
    maps: set[str] = field(default_factory=set)

    @classmethod
    def from_json(cls, listing: Mapping[str, object]) -> KernelTable:
        out = cls()
        for item in listing.get("nftables") or ():  # type: ignore[attr-defined]
            if "chain" in item:
                out.chains.add(item["chain"]["name"])
            elif "set" in item:
                out.sets[item["set"]["name"]] = item["set"].get("timeout")
            elif "map" in item:
                out.maps.add(item["map"]["name"])
        return out


class Transaction:
    """nft commands for one or more tables, rendered phase by phase."""

    def __init__(self) -> None:
        self._phases: dict[str, list[str]] = {p: [] for p in PHASES}
        self.head: list[str] = []  # table-level commands, before everything else

    def add(self, phase: str, line: str) -> None:
        self._phases[phase].append(line)

    def __len__(self) -> int:
        return len(self.head) + sum(len(v) for v in self._phases.values())

    def render(self) -> str:
        lines = list(self.head)
        for phase in PHASES:
            lines += self._phases[phase]
        return "\n".join(lines) + "\n" if lines else ""


class TableWriter:
    """Adds the commands for one family's table to a Transaction."""

    def __init__(self, tx: Transaction, family: Family, table: str = TABLE) -> None:
        self.tx = tx
        self.family = family
        self.prefix = f"{family} {table}"

    # -- primitives ------------------------------------------------------------------------
    def add_chain(self, name: str, spec: str | None = None) -> None:
        self.tx.add("chains", f"add chain {self.prefix} {name}" + (f" {spec}" if spec else ""))

    def flush_chain(self, name: str) -> None:
        self.tx.add("flush", f"flush chain {self.prefix} {name}")

    def rules(self, chain: str, rules: Iterable[str]) -> None:
        for rule in rules:
            self.tx.add("rules", f"add rule {self.prefix} {chain} {rule}")

    def add_set(self, name: str, timeout: int) -> None:
        self.tx.add("sets", f"add set {self.prefix} {name} {affinity_set_spec(self.family, timeout)}")

    def delete_set(self, name: str) -> None:
        self.tx.add("delete-sets", f"delete set {self.prefix} {name}")

    def add_elements(self, name: str, items: Mapping[str, str]) -> None:
        if items:
            body = ", ".join(f"{k} : {v}" if v else k for k, v in items.items())
            self.tx.add("elements", f"add element {self.prefix} {name} {{ {body} }}")

    def delete_elements(self, name: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            self.tx.add("delete-elements", f"delete element {self.prefix} {name} {{ {', '.join(keys)} }}")

    # -- whole-table operations --------------------------------------------------------------
    def full(self, desired: Objects, kernel: KernelTable, match_all: bool, nodeport_ips: Iterable[str],
             recreate_base: bool) -> set[str]:
        """Everything, rewritten; returns the chains of ours in the kernel nobody wants now.

        Chains and maps are added (a no-op when present) and flushed, so leftovers of a
        crashed run never duplicate; affinity sets with an unchanged timeout keep their
        clients; ``recreate_base`` deletes and re-adds the base chains once (nft cannot
        change the priority of an existing chain).
        """
        tx = self.tx
        tx.head.append(f"add table {self.prefix} {{ comment \"rules for ccm node-proxy\" ; }}")
        chains, maps = skeleton(self.family, match_all)
        for name, spec, rules in chains:
            self.add_chain(name, spec)
            if spec is not None and recreate_base and name in kernel.chains:
                tx.add("chains", f"flush chain {self.prefix} {name}")
                tx.add("chains", f"delete chain {self.prefix} {name}")
                self.add_chain(name, spec)
            self.flush_chain(name)
            self.rules(name, rules)
        for name, spec in maps.items():
            tx.add("chains", f"add {'set' if name == NODEPORT_IPS else 'map'} {self.prefix} {name} {spec}")
            tx.add("flush", f"flush {'set' if name == NODEPORT_IPS else 'map'} {self.prefix} {name}")
        self.add_elements(NODEPORT_IPS, dict.fromkeys(nodeport_ips, ""))
        for name, rules in desired.chains.items():
            self.add_chain(name)
            self.flush_chain(name)
            self.rules(name, rules)
        fixed = {name for name, _, _ in chains}
        stale = kernel.chains - fixed - set(desired.chains)
        for name in stale:
            self.flush_chain(name)
        for name, timeout in desired.sets.items():
            if name in kernel.sets and kernel.sets[name] != timeout:
                self.delete_set(name)
            self.add_set(name, timeout)
        for name in set(kernel.sets) - set(desired.sets) - {NODEPORT_IPS}:
            self.delete_set(name)
        for m in MAPS:
            self.add_elements(m, desired.elements.get(m, {}))
        return stale

    def service(self, old: Objects, new: Objects, existing: set[str]) -> set[str]:
        """The difference ``old`` -> ``new`` of one Service; returns its chains no longer used.

        ``existing``: chains in the kernel (some maybe flushed, awaiting deletion).
        """
        for m in MAPS:
            before, after = old.elements.get(m, {}), new.elements.get(m, {})
            self.delete_elements(m, [k for k, v in before.items() if after.get(k) != v])
            self.add_elements(m, {k: v for k, v in after.items() if before.get(k) != v})
        # a set that goes or changes must lose its references first: rewrite their chains
        dirty_sets = {s for s in set(old.sets) | set(new.sets) if old.sets.get(s) != new.sets.get(s)}
        refs = tuple(f"@{s} " for s in dirty_sets)

        def references(rules: tuple[str, ...]) -> bool:
            return any(r in rule for r in refs for rule in rules) if refs else False

        for name, rules in new.chains.items():
            if name not in existing:
                self.add_chain(name)
            elif old.chains.get(name) != rules or references(rules):
                self.flush_chain(name)
            else:
                continue
            self.rules(name, rules)
        gone = set(old.chains) - set(new.chains)
        for name in gone:
            self.flush_chain(name)
        for name in dirty_sets:
            if name in old.sets:
                self.delete_set(name)
            if name in new.sets:
                self.add_set(name, new.sets[name])
        return gone

    def delete_chains(self, names: Iterable[str]) -> None:
        for name in names:
            self.tx.add("chains", f"delete chain {self.prefix} {name}")

    def delete_table(self) -> None:
        # add first: deleting an absent table fails, and the transaction with it
        self.tx.head += [f"add table {self.prefix}", f"delete table {self.prefix}"]
