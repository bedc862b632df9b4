"""The eligible node set (§2.1), filtered and converted once per node-list snapshot.

Upstream filters the lister's nodes for every Service it ensures or node-syncs. With 1,000 Nodes
that is a thousand predicate runs and provider-Node conversions per Service, a million per node
sync across 1,000 Services. Informer objects are read-only, so a node list holding the same
objects (by identity) as the previous one has the same eligible set: :class:`NodeSets` hands the
cached :class:`NodeSet` to every caller and rebuilds it only when a Node object was added,
removed or replaced; a rebuild converts only the objects it has not seen, so status churn on a
few Nodes of a large cluster costs a few conversions, not a thousand. Nodes are still listed per
call (upstream TestSlowNodeSync), only the work on objects already seen is skipped.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from ccm.controllers.service.predicates import Obj, eligible_nodes, stable_node_set
from ccm.controllers.service.request import node_from_api
from providers.port import Node


@dataclasses.dataclass(frozen=True, eq=False)
class NodeSet:
    """Eligible nodes in lister order, as API dicts and as the provider sees them."""

    objects: tuple[Obj, ...] = ()
    nodes: tuple[Node, ...] = ()
    #: name -> providerID, what upstream nodesSufficientlyEqual compares
    provider_ids: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, nodes: Iterable[Obj]) -> NodeSet:
        return cls._of_pairs([(n, node_from_api(n)) for n in eligible_nodes(nodes)])

    @classmethod
    def _of_pairs(cls, pairs: Sequence[tuple[Obj, Node]]) -> NodeSet:
        return cls(tuple(o for o, _ in pairs), tuple(n for _, n in pairs),
                   {n.name: n.provider_id for _, n in pairs})

    def __len__(self) -> int:
        return len(self.objects)

    def sufficiently_equal(self, other: NodeSet) -> bool:
        """Upstream nodesSufficientlyEqual: the same count and the same name -> providerID map."""
        return self is other or (
            len(self.objects) == len(other.objects) and self.provider_ids == other.provider_ids
        )


EMPTY = NodeSet()


class NodeSets:
    """``NodeSet.of(list_nodes())``, memoised on the identities of the listed objects; thread-safe."""

    def __init__(self, list_nodes: Callable[[], Sequence[Obj]]) -> None:
        self.list_nodes = list_nodes
        self._lock = threading.Lock()
        self._ids: tuple[int, ...] = ()
        self._current = EMPTY
        # id -> (the object, its Node when eligible); holding the object keeps its id from being reused
        self._seen: dict[int, tuple[Obj, Node | None]] = {}
        self.computed = 0  # how often the set was rebuilt (tests, benchmarks)
        self.converted = 0  # how many Node objects were converted (tests, benchmarks)

    def current(self) -> NodeSet:
        listed = list(self.list_nodes())
        ids = tuple(map(id, listed))
        with self._lock:
            if ids == self._ids:
                return self._current
            seen = self._seen
        entries: dict[int, tuple[Obj, Node | None]] = {}
        converted = 0
        for obj in listed:
            entry = seen.get(id(obj))
            if entry is None or entry[0] is not obj:
                entry = (obj, node_from_api(obj) if stable_node_set(obj) else None)
                converted += 1
            entries[id(obj)] = entry
        computed = NodeSet._of_pairs([(o, n) for o, n in entries.values() if n is not None])
        with self._lock:
            self._ids, self._current, self._seen = ids, computed, entries
            self.computed += 1
            self.converted += converted
        return computed
