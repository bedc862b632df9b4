"""The docs metadata on each declaration (category, example, load-balancer types) is consistent."""

from __future__ import annotations

import pytest

from ccm.annotations import registry
from ccm.annotations.registry import LOAD_BALANCER_TYPES, Annotation


@pytest.mark.parametrize("decl", registry.all_annotations(), ids=lambda a: a.key)
def test_example_is_accepted_and_types_are_the_clouds(decl: Annotation) -> None:
    assert decl.example, f"{decl.key}: declare an example (example= or the type's sample=)"
    decl.parse(decl.example)  # raises when the example is not a valid value
    assert set(decl.lb_types) <= set(LOAD_BALANCER_TYPES.get(decl.cloud, ())), decl.lb_types


def test_every_cloud_with_types_has_type_specific_annotations() -> None:
    for cloud in LOAD_BALANCER_TYPES:
        assert any(a.lb_types for a in registry.all_annotations() if a.cloud == cloud), cloud


def test_a_bad_category_is_refused_at_declaration() -> None:
    from ccm.annotations.types import GoBool

    with pytest.raises(ValueError, match="category"):
        Annotation(key="example.com/x", parser=GoBool(), default=None, providers=frozenset({"aws"}),
                   create_only=False, doc="", category="nonsense")
