"""A thread-safe object cache with named secondary indexes (client-go's ThreadSafeStore + Indexer).

Cached objects are **read-only**: they are the dicts the informer parsed from the API and are
shared by every reader. Never mutate one; ``copy.deepcopy`` it before changing anything.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ccm.kube.resources import object_key

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]
KeyFunc = Callable[[Mapping[str, Any]], str]
# Aliases, because inside Indexer the name ``list`` is the method.
ObjList = list[Obj]
KeyList = list[str]


def namespace_index(obj: Obj) -> list[str]:
    """The conventional ``namespace`` index (client-go's MetaNamespaceIndexFunc)."""
    namespace = obj.get("metadata", {}).get("namespace")
    return [namespace] if namespace else []


class Indexer:
    """Objects by key, plus ``index name -> indexed value -> keys``.

    Every method takes the one lock, so readers see each add/update/delete/replace whole.
    """

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None,
                 key_func: KeyFunc = object_key) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        # index name -> value -> keys; kept in step with _items under _lock.
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}
        self._key_func = key_func
        self.resource_version = ""

    def key_of(self, obj: Mapping[str, Any]) -> str:
        return self._key_func(obj)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions; existing objects are indexed at once."""
        with self._lock:
            for name in indexers:
                if name in self._indexers:
                    raise ValueError(f"indexer {name!r} already exists")
            for name, func in indexers.items():
                self._indexers[name] = func
                index: dict[str, set[str]] = {}
                self._indices[name] = index
                for key, obj in self._items.items():
                    for value in func(obj):
                        index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, func in self._indexers.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    def _index(self, key: str, obj: Obj) -> None:
        for name, func in self._indexers.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is None:  # not setdefault: that builds a throwaway set per call
                    index[value] = {key}
                else:
                    keys.add(key)

    def add(self, obj: Obj) -> Obj | None:
        """Insert or replace ``obj``; returns the object it replaced, if any."""
        key = self._key_func(obj)
        with self._lock:
            old = self._items.get(key)
            if self._indexers:
                if old is not None:
                    self._unindex(key, old)
                self._index(key, obj)
            self._items[key] = obj
            return old

    update = add

    def delete(self, obj: Mapping[str, Any]) -> Obj | None:
        """Remove the object with ``obj``'s key; returns the cached object, if any."""
        return self.delete_key(self._key_func(obj))

    def delete_key(self, key: str) -> Obj | None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None and self._indexers:
                self._unindex(key, old)
            return old

    def replace(self, objs: Iterable[Obj], resource_version: str = "") -> None:
        """Swap in a complete new set of objects (after a list)."""
        items = {self._key_func(obj): obj for obj in objs}
        with self._lock:
            self._items = items
            self._indices = {name: {} for name in self._indexers}
            if self._indexers:
                for key, obj in items.items():
                    self._index(key, obj)
            self.resource_version = resource_version

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._items.get(key)

    def get_by_object(self, obj: Mapping[str, Any]) -> Obj | None:
        return self.get(self._key_func(obj))

    def list(self) -> ObjList:
        with self._lock:
            return list(self._items.values())

    def keys(self) -> KeyList:
        with self._lock:
            return list(self._items)

    def items(self) -> builtins.list[tuple[str, Obj]]:
        with self._lock:
            return list(self._items.items())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def by_index(self, index_name: str, value: str) -> ObjList:
        """Objects whose index function ``index_name`` returned ``value``."""
        with self._lock:
            if index_name not in self._indexers:
                raise KeyError(f"index {index_name!r} does not exist")
            keys = self._indices[index_name].get(value, ())
            return [self._items[k] for k in sorted(keys)]

    def index_keys(self, index_name: str, value: str) -> KeyList:
        with self._lock:
            if index_name not in self._indexers:
                raise KeyError(f"index {index_name!r} does not exist")
            return sorted(self._indices[index_name].get(value, ()))

    def list_index_values(self, index_name: str) -> KeyList:
        with self._lock:
            return list(self._indices.get(index_name, {}))
