"""Field-set algebra and the FieldsV1 form (structured-merge-diff's fieldpath semantics)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from ccm.apiserver.ssa import fieldpath as fp
from ccm.apiserver.ssa.fieldpath import FieldSet

F = fp.field
PORT80 = fp.key({"protocol": "TCP", "port": 80})

elements = hs.sampled_from([F("a"), F("b"), F("c"), fp.key({"port": 1}), fp.value("x"), fp.index(0)])
paths = hs.lists(elements, min_size=1, max_size=3).map(tuple)
sets = hs.lists(paths, max_size=6).map(lambda ps: FieldSet.of(*ps))


def test_key_elements_sort_their_fields_and_print_like_upstream() -> None:
    assert PORT80 == 'k:{"port":80,"protocol":"TCP"}'
    path = (F("spec"), F("ports"), PORT80, F("targetPort"))
    assert fp.path_string(path) == '.spec.ports[port=80,protocol="TCP"].targetPort'
    assert fp.path_string((F("metadata"), F("finalizers"), fp.value("a.io/x"))) == '.metadata.finalizers[="a.io/x"]'
    assert fp.path_string((F("items"), fp.index(3))) == ".items[3]"


def test_fields_v1_marks_an_element_that_is_also_a_parent() -> None:
    s = FieldSet.of((F("spec"), F("ports"), PORT80), (F("spec"), F("ports"), PORT80, F("port")),
                    (F("metadata"), F("labels"), F("app")))
    assert s.to_fields_v1() == {"f:metadata": {"f:labels": {"f:app": {}}},
                                "f:spec": {"f:ports": {PORT80: {".": {}, "f:port": {}}}}}
    assert FieldSet.from_fields_v1(s.to_fields_v1()) == s


def test_fields_v1_orders_fields_before_keys_values_and_indexes() -> None:
    s = FieldSet.of((fp.index(10),), (fp.index(9),), (fp.value("z"),), (fp.key({"a": 1}),), (F("b"),), (F("a"),))
    assert list(s.to_fields_v1()) == ["f:a", "f:b", 'k:{"a":1}', 'v:"z"', "i:9", "i:10"]


@pytest.mark.parametrize("doc", [[], {"f:a": []}, {"x:a": {}}, {"k:{not json": {}}], ids=str)
def test_malformed_fields_v1_is_a_value_error(doc: object) -> None:
    with pytest.raises(ValueError):
        FieldSet.from_fields_v1(doc)


def test_difference_removes_members_only_recursive_difference_removes_subtrees() -> None:
    a = FieldSet.of((F("a"),), (F("a"), F("b")), (F("c"),))
    b = FieldSet.of((F("a"),))
    assert a.difference(b) == FieldSet.of((F("a"), F("b")), (F("c"),))
    assert a.recursive_difference(b) == FieldSet.of((F("c"),))


@settings(max_examples=60, deadline=None)
@given(sets, sets, sets)
def test_set_laws(a: FieldSet, b: FieldSet, c: FieldSet) -> None:
    assert a.union(b) == b.union(a)
    assert a.intersection(b) == b.intersection(a)
    assert a.union(b).union(c) == a.union(b.union(c))
    assert a.difference(a).empty() and a.recursive_difference(a).empty()
    assert set(a.union(b).paths()) == set(a.paths()) | set(b.paths())
    assert set(a.intersection(b).paths()) == set(a.paths()) & set(b.paths())
    assert set(a.difference(b).paths()) == set(a.paths()) - set(b.paths())
    rd = set(a.recursive_difference(b).paths())
    assert rd <= set(a.paths()) - set(b.paths())
    assert not any(p[:i] in set(b.paths()) for p in rd for i in range(1, len(p) + 1))
    assert FieldSet.from_fields_v1(a.to_fields_v1()) == a
