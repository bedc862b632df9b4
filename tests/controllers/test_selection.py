"""``--controllers`` semantics (k8s.io/controller-manager IsControllerEnabled and alias mapping)."""

from __future__ import annotations

import pytest

from ccm.controllers import selection as sel

ALL = set(sel.KNOWN)


def enabled(*entries: str) -> set[str]:
    normalized = sel.normalize(sel.split(entries))
    return {c for c in sel.KNOWN if sel.is_enabled(c, normalized)}


@pytest.mark.parametrize(("entries", "expected"), [
    pytest.param(("*",), ALL, id="star-is-all-four"),
    pytest.param(("*,-route",), ALL - {sel.ROUTE}, id="star-minus-alias"),
    pytest.param(("cloud-node",), {sel.CLOUD_NODE}, id="name-alone-runs-only-it"),
    pytest.param(("service", "cloud-node-lifecycle-controller"), {sel.SERVICE, sel.CLOUD_NODE_LIFECYCLE},
                 id="alias-and-canonical-repeated-flag"),
    pytest.param(("-service,service,*",), ALL - {sel.SERVICE}, id="first-explicit-match-wins"),
    pytest.param(("service,-service",), {sel.SERVICE}, id="first-match-wins-other-order"),
    pytest.param(("-cloud-node",), set(), id="only-negations-run-nothing"),
])
def test_is_enabled(entries, expected):
    assert enabled(*entries) == expected


def test_aliases_map_to_canonical_names():
    assert sel.normalize(["-route", "service", "*"]) == ("-node-route-controller", "service-lb-controller", "*")


def test_unknown_controller_is_named():
    with pytest.raises(ValueError, match='"nodeipam" is not in the list of known controllers'):
        sel.normalize(["*", "-nodeipam"])
