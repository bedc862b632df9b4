"""The generated CEL and the registry agree on every value tried: 100%, annotation by annotation.

Each declared annotation (under its key, its aliases, or an instance of its templated key) gets
near-valid values of its type and their near misses (``corpus``); the policy's rules are
evaluated by Google's CEL runtime with Kubernetes' functions (``celenv``) and compared with
``registry.parse``: a denial exactly when the registry reports an error, a warning exactly when it
warns. Create-only changes, adapter support (``--provider``), cross-field rules, ratcheting and the
match conditions are checked the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.admission.policy import VARIABLES, Rule, Rules, match_conditions, rules
from ccm.annotations import registry
from ccm.annotations.registry import ALL, Annotation
from providers import registry as providers
from tests.admission import celenv
from tests.admission.corpus import corpus, edge_cases

#: bounded so the whole module stays within a few seconds: examples per type, values per example
EXAMPLES = 6
VALUES = 4
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SPEC = {"variables": list(VARIABLES)}


@functools.cache
def everything() -> Rules:
    return rules(None, create_only="deny")


@functools.cache
def _reading(generated: Rules, keys: frozenset[str], kinds: frozenset[str]) -> tuple[Rule, ...]:
    out = []
    for r in generated.rules:
        involved = {r.key} | {k for c in registry.cross_checks() if c.keys[0] == r.key and r.kind == "cross-check"
                              for k in c.keys}
        if r.kind in kinds and involved & keys:
            out.append(r)
    return tuple(out)


def rules_reading(generated: Rules, keys: set[str], kinds: set[str]) -> list[Rule]:
    """The rules that read any of ``keys`` (cross checks read several)."""
    return list(_reading(generated, frozenset(keys), frozenset(kinds)))


def provider_of(decl: Annotation) -> str:
    """A provider whose Services the registry parses this annotation for."""
    return "aws" if ALL in decl.providers else sorted(decl.providers)[0]


def written_keys(decl: Annotation) -> list[str]:
    if decl.pattern is not None:
        return [decl.key_for(port=80, protocol="TCP"), decl.key_for(port=8443, protocol="UDP")]
    return [decl.key, *decl.aliases]


def service(annotations: Mapping[str, str], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "s", "namespace": "ns", "annotations": dict(annotations)},
            "spec": {"type": "LoadBalancer", **spec}}


def verdict(checks: list[Rule], obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> tuple[bool, bool]:
    """(denied, warned) by ``checks`` for one request."""
    deny = [r.validation() for r in checks if r.action == "deny"]
    warn = [r.validation() for r in checks if r.action == "warn"]
    return bool(celenv.evaluate(SPEC, obj, old, deny)), bool(celenv.evaluate(SPEC, obj, old, warn))


def expressible() -> list[Annotation]:
    skipped = set(everything().not_validated)
    return [a for a in registry.all_annotations() if a.key not in skipped]


def check_value(decl: Annotation, written: str, raw: str) -> None:
    parsed = registry.parse(provider_of(decl), {written: raw})
    checks = rules_reading(everything(), {decl.key}, {"invalid", "invalid-warn", "deprecated", "ignored",
                                                      "cross-check"})
    denied, warned = verdict(checks, service({written: raw}))
    assert denied == bool(parsed.errors), (written, raw, parsed.errors)
    assert warned == bool(parsed.warnings), (written, raw, parsed.warnings)


def signatures() -> list[Annotation]:
    """One annotation per distinct (type, invalid policy, aliases, templated key): the rules of two
    annotations with the same signature differ only in the key they read."""
    seen: dict[Any, Annotation] = {}
    for a in expressible():
        seen.setdefault((a.parser, a.on_invalid, bool(a.aliases), a.pattern is not None), a)
    return list(seen.values())


@pytest.mark.parametrize("decl", signatures(), ids=lambda a: a.key)
@SETTINGS
@given(data=st.data())
def test_policy_agrees_with_the_registry(decl: Annotation, data: st.DataObject) -> None:
    for raw in data.draw(st.lists(corpus(decl.parser), min_size=VALUES, max_size=VALUES), label="values"):
        check_value(decl, data.draw(st.sampled_from(written_keys(decl)), label="key"), raw)


@pytest.mark.parametrize("decl", expressible(), ids=lambda a: a.key)
def test_policy_agrees_on_edge_cases(decl: Annotation) -> None:
    for written in written_keys(decl):
        for raw in edge_cases(decl.parser):
            check_value(decl, written, raw)


def test_only_json_values_are_left_to_the_controller() -> None:
    """CEL has no JSON parser; everything else the registry checks, the policy checks."""
    from ccm.annotations.types import JsonObject

    left = {a.key for a in registry.all_annotations() if a.key in everything().not_validated}
    assert left == {a.key for a in registry.all_annotations() if isinstance(a.parser, JsonObject)}


def test_alias_shadowed_by_the_canonical_key_warns_as_the_registry() -> None:
    decl = next(a for a in registry.all_annotations() if a.aliases)
    checks = rules_reading(everything(), {decl.key}, {"invalid", "invalid-warn", "deprecated", "ignored"})
    for values in ({decl.key: "Internal", decl.aliases[0]: "Internal"}, {decl.key: "Internal", decl.aliases[0]: "x"},
                   {decl.aliases[0]: "Internal"}):
        parsed = registry.parse(provider_of(decl), values)
        assert verdict(checks, service(values)) == (bool(parsed.errors), bool(parsed.warnings)), values


# --- cross-field rules ---------------------------------------------------------------------------


def cross_checks() -> list[Any]:
    return [c for c in registry.cross_checks() if c.cel]


@pytest.mark.parametrize("check", cross_checks(), ids=lambda c: c.keys[0])
@SETTINGS
@given(data=st.data())
def test_cross_checks_agree(check: Any, data: st.DataObject) -> None:
    decls = [registry.get(k) for k in check.keys]
    values = {}
    for d in decls:
        assert d is not None
        if data.draw(st.booleans(), label=f"set {d.key}"):
            values[d.key] = data.draw(st.one_of(st.integers(0, 130).map(str), corpus(d.parser)), label=d.key)
    parsed = registry.parse(provider_of(decls[0]), values)  # type: ignore[arg-type]
    checks = rules_reading(everything(), set(check.keys), {"invalid", "cross-check"})
    assert verdict(checks, service(values))[0] == bool(parsed.errors), (values, parsed.errors)


# --- create-only ------------------------------------------------------------------------------


def create_only() -> list[Annotation]:
    return [a for a in expressible() if a.create_only]


@pytest.mark.parametrize("decl", create_only(), ids=lambda a: a.key)
@SETTINGS
@given(data=st.data())
def test_create_only_changes_agree(decl: Annotation, data: st.DataObject) -> None:
    absent = st.none()
    values = st.one_of(absent, corpus(decl.parser), st.sampled_from(edge_cases(decl.parser)))
    old_raw, new_raw = data.draw(values, label="old"), data.draw(values, label="new")
    written = data.draw(st.sampled_from(written_keys(decl)), label="key")
    old = {} if old_raw is None else {written: old_raw}
    new = {} if new_raw is None else {written: new_raw}
    changed = registry.create_only_changes(provider_of(decl), old, new)
    checks = [r for r in everything().rules if r.kind == "create-only" and r.key == decl.key]
    assert verdict(checks, service(new), service(old))[0] == bool(changed), (old, new, changed)
    assert verdict(checks, service(new))[0] is False, "a create is never a create-only change"


# --- what one provider's adapter implements --------------------------------------------------------


def supported_providers() -> list[str]:
    return [p for p, s in providers.supports().items() if s is not None]


@functools.cache
def for_provider(provider: str) -> Rules:
    return rules(provider, support=providers.annotation_support(provider))


@pytest.mark.parametrize("provider", supported_providers())
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_unsupported_annotations_agree_with_the_adapters_support(provider: str, data: st.DataObject) -> None:
    support = providers.annotation_support(provider)
    assert support is not None
    generated = for_provider(provider)
    candidates = [a for a in registry.for_provider(provider) if a.key not in generated.not_validated]
    chosen = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True), label="annotations")
    values = {}
    for decl in chosen:
        values[data.draw(st.sampled_from(written_keys(decl)))] = data.draw(corpus(decl.parser))
    parsed = registry.parse(provider, values)
    refused = bool(parsed.errors) or bool(support.check(provider, parsed.values, values))
    checks = [r for r in generated.rules if r.action == "deny" and r.kind != "create-only"]
    assert verdict(checks, service(values))[0] == refused, (values, parsed.errors,
                                                            support.check(provider, parsed.values, values))


def test_aws_handed_off_services_are_not_refused_for_what_another_controller_implements() -> None:
    from ccm.annotations import aws

    generated = for_provider("aws")
    checks = [r for r in generated.rules if r.action == "deny"]
    # pod-IP targets: the LBC builds them, ccm (node-port targets) refuses them
    external = {aws.TYPE.key: "external", aws.NLB_TARGET_TYPE.key: "ip"}
    assert verdict(checks, service(external))[0] is False
    assert verdict(checks, service({aws.NLB_TARGET_TYPE.key: "ip"}))[0] is True


# --- ratcheting and scope ---------------------------------------------------------------------------


def test_an_unchanged_invalid_value_never_blocks_an_update() -> None:
    """Objects stored before the policy, and the controller's finalizer writes, are never blocked."""
    from ccm.annotations import aws

    checks = [r for r in everything().rules if r.action == "deny" and r.key == aws.CONNECTION_IDLE_TIMEOUT.key]
    stored = service({aws.CONNECTION_IDLE_TIMEOUT.key: "9999"})
    with_finalizer = {**stored, "metadata": {**stored["metadata"], "finalizers": ["x"]}}
    assert verdict(checks, with_finalizer, stored)[0] is False
    assert verdict(checks, service({aws.CONNECTION_IDLE_TIMEOUT.key: "99999"}), stored)[0] is True
    assert verdict(checks, stored)[0] is True


@pytest.mark.parametrize(("spec", "meta", "matched"), [
    pytest.param({"type": "LoadBalancer"}, {}, True, id="load-balancer"),
    pytest.param({"type": "ClusterIP"}, {}, False, id="cluster-ip"),
    pytest.param({}, {}, False, id="no-type"),
    pytest.param({"type": "LoadBalancer", "loadBalancerClass": "example.com/other"}, {}, False, id="other-class"),
    pytest.param({"type": "LoadBalancer"}, {"deletionTimestamp": "2026-01-01T00:00:00Z"}, False, id="deleting"),
])
def test_match_conditions(spec: dict[str, Any], meta: dict[str, Any], matched: bool) -> None:
    obj = {"metadata": {"name": "s", **meta}, "spec": spec}
    conditions = match_conditions(None, False)
    assert all(celenv.value(c["expression"], {"object": obj, "oldObject": None}) for c in conditions) is matched
    mine = match_conditions("example.com/other", True)
    assert all(celenv.value(c["expression"], {"object": {"metadata": {}, "spec": {
        "type": "LoadBalancer", "loadBalancerClass": "example.com/other"}}, "oldObject": None}) for c in mine)
