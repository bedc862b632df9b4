"""Indexer: keys, indexes kept in step with adds/updates/deletes/replace, thread safety."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ccm.kube.store import Indexer, namespace_index


def svc(name: str, ns: str = "default", node: str | None = None, rv: str = "1") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": rv}
    if node:
        meta["labels"] = {"node": node}
    return {"metadata": meta}


def by_node(obj: dict[str, Any]) -> list[str]:
    label = obj["metadata"].get("labels", {}).get("node")
    return [label] if label else []


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_add_get_update_delete_by_key():
    store = Indexer()
    assert store.add(svc("a")) is None
    old = store.add(svc("a", rv="2"))
    assert old is not None and old["metadata"]["resourceVersion"] == "1"
    assert store.get("default/a") == svc("a", rv="2")
    assert store.keys() == ["default/a"] and len(store) == 1 and "default/a" in store
    assert store.delete(svc("a")) is not None
    assert store.get("default/a") is None
    assert store.delete(svc("a")) is None


def test_cluster_scoped_key_is_the_name():
    store = Indexer()
    store.add({"metadata": {"name": "node-1"}})
    assert store.keys() == ["node-1"]


def test_indexes_follow_updates_and_deletes():
    store = Indexer({"namespace": namespace_index, "node": by_node})
    store.add(svc("a", "x", node="n1"))
    store.add(svc("b", "x", node="n1"))
    store.add(svc("c", "y", node="n2"))
    assert names(store.by_index("namespace", "x")) == ["a", "b"]
    assert names(store.by_index("node", "n1")) == ["a", "b"]
    store.update(svc("a", "x", node="n2"))  # moves between index values
    assert names(store.by_index("node", "n1")) == ["b"]
    assert names(store.by_index("node", "n2")) == ["a", "c"]
    store.delete(svc("b", "x"))
    assert store.by_index("node", "n1") == []
    assert sorted(store.list_index_values("node")) == ["n2"]
    assert store.index_keys("namespace", "y") == ["y/c"]


def test_replace_rebuilds_items_and_indexes():
    store = Indexer({"node": by_node})
    store.add(svc("old", node="n1"))
    store.replace([svc("a", node="n2"), svc("b")], "42")
    assert sorted(store.keys()) == ["default/a", "default/b"]
    assert store.by_index("node", "n1") == []
    assert names(store.by_index("node", "n2")) == ["a"]
    assert store.resource_version == "42"


def test_add_indexers_indexes_existing_objects_and_rejects_duplicates():
    store = Indexer()
    store.add(svc("a", node="n1"))
    store.add_indexers({"node": by_node})
    assert names(store.by_index("node", "n1")) == ["a"]
    with pytest.raises(ValueError):
        store.add_indexers({"node": by_node})
    with pytest.raises(KeyError):
        store.by_index("missing", "x")


def test_concurrent_writers_keep_index_consistent():
    store = Indexer({"node": by_node})

    def writer(offset: int) -> None:
        for i in range(300):
            store.add(svc(f"s{i % 50}", node=f"n{(i + offset) % 3}"))
            if i % 7 == 0:
                store.delete(svc(f"s{(i * 3) % 50}"))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    indexed = sorted(k for v in store.list_index_values("node") for k in store.index_keys("node", v))
    assert indexed == sorted(store.keys())
    for key in store.keys():  # noqa: SIM118 - keys() is the API under test
        obj = store.get(key)
        assert obj is not None
        assert key in store.index_keys("node", by_node(obj)[0])
