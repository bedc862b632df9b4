"""The eligible node set: upstream's comparison rule, and the memo that spares re-filtering per Service."""

from __future__ import annotations

from ccm.controllers.service import predicates as pr
from ccm.controllers.service.nodeset import EMPTY, NodeSet, NodeSets
from tests.controllers.test_predicates import node


def test_nodes_sufficiently_equal():
    a, b = node("a", provider_id="p://a"), node("b")
    assert NodeSet.of([a, b]).sufficiently_equal(NodeSet.of([b, a]))
    assert not NodeSet.of([a]).sufficiently_equal(NodeSet.of([a, b]))
    assert not NodeSet.of([a, b]).sufficiently_equal(NodeSet.of([node("a", provider_id="p://other"), b]))
    assert EMPTY.sufficiently_equal(NodeSet.of([])) and not EMPTY.sufficiently_equal(NodeSet.of([a]))


def test_only_eligible_nodes_in_lister_order():
    listed = [node("c"), node("x", labels={pr.LABEL_EXCLUDE_BALANCERS: "true"}),
              node("a", taints=[{"key": pr.TO_BE_DELETED_TAINT}]), node("b", deleting=True), node("a2")]
    s = NodeSet.of(listed)
    assert [n.name for n in s.nodes] == ["c", "a2"] and s.objects == (listed[0], listed[4])
    assert len(s) == 2 and s.provider_ids == {"c": "", "a2": ""}


def test_unchanged_list_reuses_the_set_and_any_change_rebuilds_it():
    listed = [node("a"), node("b")]
    sets = NodeSets(lambda: list(listed))
    first = sets.current()
    assert sets.current() is first and (sets.computed, sets.converted) == (1, 2)
    listed[1] = node("b", provider_id="p://b")  # replaced object, same name: the informer's update
    second = sets.current()
    assert second is not first and sets.computed == 2
    assert sets.converted == 3 and second.nodes[0] is first.nodes[0]  # only the new object converted
    assert second.provider_ids == {"a": "", "b": "p://b"} and not second.sufficiently_equal(first)
    listed.append(node("c", labels={pr.LABEL_EXCLUDE_BALANCERS: "true"}))
    third = sets.current()
    assert sets.computed == 3 and [n.name for n in third.nodes] == ["a", "b"]
    assert third.sufficiently_equal(second)
    listed.clear()
    assert len(sets.current()) == 0 and sets.computed == 4
