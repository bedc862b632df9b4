"""The ValidatingAdmissionPolicies that reject at ``kubectl apply`` what the controller would refuse.

Generated from the annotation registry (and, for one provider, its adapter's
:class:`~ccm.annotations.support.AnnotationSupport`), one :class:`Rule` per check:

* ``invalid``: a value the registry rejects (an ``InvalidAnnotation`` event) -> denied;
* ``invalid-warn``: a value upstream silently replaces by the default and ccm warns about -> warning;
* ``deprecated`` / ``ignored``: a deprecated alias, or an alias shadowed by the canonical key -> warning;
* ``cross-check``: a rule between annotations (declared with its CEL) -> denied;
* ``unsupported``: with ``--provider``, an annotation that provider's adapter does not build as
  written (an ``UnsupportedAnnotation`` event) -> denied;
* ``create-only``: a create-only annotation changed on an existing Service (the controller's
  ``CreateOnlyAnnotationChanged``) -> denied or warned, as chosen.

Two policies, because the action belongs to the binding: ``<name>`` (bound with Deny) and
``<name>-warnings`` (bound with Warn). They match LoadBalancer Services of the classes ccm owns
and never a Service being deleted. On UPDATE a rule looks only at annotations that changed
(validation ratcheting), so an object stored before the policy existed, or the controller's own
finalizer and status writes, are never blocked by a value nobody touched. ``failurePolicy:
Ignore``: an API server that cannot evaluate an expression (an older release without the IP
library) admits rather than blocking every Service; the controller still refuses the value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from ccm.admission import cel
from ccm.admission.cel import Names, NotExpressible, all_of, bind, lit, lit_list, text_of
from ccm.annotations import registry
from ccm.annotations.registry import Annotation, CrossCheck
from ccm.annotations.support import FULLY, AnnotationSupport
from ccm.annotations.types import Int

A = "variables.annotations"
OLD = "variables.old"
VARIABLES = (
    {"name": "annotations",
     "expression": "has(object.metadata.annotations) ? object.metadata.annotations : {}"},
    {"name": "old",
     "expression": "oldObject != null && has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {}"},
)
#: how much of a value a message repeats
_SHOWN = 64
#: what a value that does not parse compares as (create-only), and an unset one without a default
_INVALID = "\u0000invalid"
_UNSET = "\u0000unset"

Action = Literal["deny", "warn"]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One validation of a policy, with what it checks (the tests evaluate exactly these)."""

    #: the declaration's key (a templated key for per-port annotations)
    key: str
    kind: str
    action: Action
    expression: str
    message_expression: str

    def validation(self) -> dict[str, str]:
        return {"expression": self.expression, "messageExpression": self.message_expression,
                "reason": "Invalid"}


@dataclasses.dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    #: declared keys whose values CEL cannot check (the controller still does)
    not_validated: tuple[str, ...]


class Expr(str):
    """A CEL expression among the parts of :func:`concat` (plain strings there are text)."""


def concat(*parts: str) -> str:
    """A CEL string expression: text parts become literals, :class:`Expr` parts stay expressions."""
    return " + ".join(p if isinstance(p, Expr) else lit(p) for p in parts if p)


def _shown(v: str) -> Expr:
    return Expr(f"(size({v}) > {_SHOWN} ? {v}.substring(0, {_SHOWN}) + {lit('...')} : {v})")


def _accepted(decl: Annotation) -> str:
    return "accepted: " + decl.parser.describe.replace("`", "")


def _unchanged(key: str) -> str:
    """On UPDATE, the annotation is there with the value it had (never on CREATE): ratcheting."""
    return f"{lit(key)} in {OLD} && {OLD}[{lit(key)}] == {A}[{lit(key)}]"


def _written_keys(decl: Annotation) -> tuple[str, ...]:
    return (decl.key, *decl.aliases)


def _present(m: str, keys: Iterable[str]) -> str:
    return " || ".join(f"{lit(k)} in {m}" for k in keys)


def _first_value(m: str, keys: Sequence[str]) -> str:
    """The value under the first key present (the registry's canonical key, then its aliases); a
    conditional is parenthesised, so the value can stand as an operand (``size(...) > n ? ... : ...``)."""
    out = f"{m}[{lit(keys[-1])}]"
    for k in reversed(keys[:-1]):
        out = f"{lit(k)} in {m} ? {m}[{lit(k)}] : {out}"
    return f"({out})" if len(keys) > 1 else out


def _which(keys: Sequence[str]) -> Expr:
    """The first of ``keys`` present, as text."""
    out = lit(keys[-1])
    for k in reversed(keys[:-1]):
        out = f"{lit(k)} in {A} ? {lit(k)} : {out}"
    return Expr(f"({out})")


def _only_written(decl: Annotation, index: int) -> str:
    """Key number ``index`` of the declaration is the one the registry reads (no earlier one present)."""
    keys = _written_keys(decl)
    earlier = [f"!({lit(k)} in {A})" for k in keys[:index]]
    return all_of(f"{lit(keys[index])} in {A}", *earlier)


# --------------------------------------------------------------------------------------------
# Per annotation
# --------------------------------------------------------------------------------------------


def _templated_rule(decl: Annotation, kind: str, action: Action, *, bad: str, v: str, text: str, names: Names,
                    skip: str = "") -> Rule:
    """A rule over every instance of a templated key (``port_{port}_...``): ``bad`` (about the value
    ``v``) must hold for none that changed; the message names the first that fails."""
    k, first = names("k"), names("bad")
    key_re = lit("^" + decl.pattern.pattern + "$") if decl.pattern is not None else lit("")
    failing = f"{k}.matches({key_re}) && !({k} in {OLD} && {OLD}[{k}] == {A}[{k}]) && {bind(v, f'{A}[{k}]', bad)}"
    message = bind(first, f"{A}.filter({k}, {failing})[0]",
                   concat("annotation ", Expr(first), '="', _shown(f"{A}[{first}]"), text))
    return Rule(decl.key, kind, action, (f"({skip}) || " if skip else "") + f"!{A}.exists({k}, {failing})", message)


def _invalid_rules(decl: Annotation, names: Names) -> list[Rule]:
    warn = decl.on_invalid == "warn"
    kind = "invalid-warn" if warn else "invalid"
    action: Action = "warn" if warn else "deny"
    suffix = f"; using the default ({registry.describe_default(decl)}) as upstream does" if warn else ""
    if decl.pattern is not None:
        v = names("v")
        return [_templated_rule(decl, kind, action, bad=f"!({cel.valid(decl.parser, v, names)})", v=v,
                                text='" is invalid; ' + _accepted(decl) + suffix, names=names)]
    out = []
    for i, written in enumerate(_written_keys(decl)):
        v = names("v")
        value = f"{A}[{lit(written)}]"
        expression = (f"!({_only_written(decl, i)}) || ({_unchanged(written)}) || "
                      f"{bind(v, value, cel.valid(decl.parser, v, names))}")
        message = concat(f'annotation {written}="', _shown(value), '" is invalid; ' + _accepted(decl) + suffix)
        out.append(Rule(decl.key, kind, action, expression, message))
    return out


def _alias_rules(decl: Annotation) -> list[Rule]:
    out = []
    keys = _written_keys(decl)
    for i, alias in enumerate(keys[1:], 1):
        value = f"{A}[{lit(alias)}]"
        out.append(Rule(decl.key, "deprecated", "warn",
                        f"!({_only_written(decl, i)}) || ({_unchanged(alias)})",
                        concat(f'annotation {alias}="', _shown(value), f'" is deprecated; use {decl.key}')))
        # shadowed by an earlier key with a different value: the registry says it is ignored
        earlier = keys[:i]
        written = _first_value(A, earlier)
        out.append(Rule(decl.key, "ignored", "warn",
                        f"!({lit(alias)} in {A} && ({_present(A, earlier)}) && {value} != {written}) || "
                        f"({_unchanged(alias)})",
                        concat(f'annotation {alias}="', _shown(value), '" is ignored because ',
                               _which(earlier), " is set")))
    return out


def _effective(decl: Annotation, m: str, names: Names) -> str:
    """The registry's ``_effective`` as CEL text (a list of texts for list annotations)."""
    keys = _written_keys(decl)
    v = names("v")
    as_list = cel.is_list(decl.parser)
    if as_list:
        value = cel.canonical_items(decl.parser, v, names)
        default = "[" + ", ".join(lit(text_of(d)) for d in decl.default) + "]" if decl.default is not None \
            else f"[{lit(_UNSET)}]"
        invalid = default if decl.on_invalid == "warn" else f"[{lit(_INVALID)}, {v}]"
    else:
        value = cel.canonical(decl.parser, v, names)
        default = lit(text_of(decl.default)) if decl.default is not None else lit(_UNSET)
        invalid = default if decl.on_invalid == "warn" else f"{lit(_INVALID)} + {v}"
    parsed = bind(v, _first_value(m, keys), f"({cel.valid(decl.parser, v, names)}) ? ({value}) : ({invalid})")
    return f"({_present(m, keys)}) ? ({parsed}) : ({default})"


def _create_only_rule(decl: Annotation, action: Action, names: Names) -> Rule:
    old, new = _effective(decl, OLD, names), _effective(decl, A, names)
    if cel.is_list(decl.parser):
        a, b = names("old"), names("new")
        same = bind(a, old, bind(b, new, cel.same_items(a, b, names)))
    else:
        same = f"({old}) == ({new})"
    return Rule(decl.key, "create-only", action, f"oldObject == null || {same}",
                lit(f"annotation {decl.key} is create-only: the change cannot take effect on the existing load "
                    "balancer until the Service is re-created"))


def _typed(decl: Annotation, m: str) -> str:
    """A cross-check operand: the annotation's typed value, or its default when absent."""
    if not isinstance(decl.parser, Int) or decl.aliases or decl.pattern is not None:
        raise NotExpressible(f"{decl.key}: cross checks in CEL take plain integers")
    default = str(decl.default) if decl.default is not None else "0"
    return f"({lit(decl.key)} in {m} ? int({m}[{lit(decl.key)}]) : {default})"


def _cross_check_rule(check: CrossCheck, names: Names) -> Rule:
    decls = [registry.get(k) for k in check.keys]
    assert all(d is not None for d in decls)
    anns: list[Annotation] = [d for d in decls if d is not None]
    keys = [lit(k) for k in check.keys]
    joined = " && " if check.when_all_set else " || "
    applies = joined.join(f"{k} in {A}" for k in keys)
    changed = " || ".join(f"({k} in {A}) != ({k} in {OLD}) || ({k} in {A} && {A}[{k}] != {OLD}[{k}])" for k in keys)
    each_valid = all_of(*(f"!({lit(d.key)} in {A}) || {bind(v, f'{A}[{lit(d.key)}]', cel.valid(d.parser, v, names))}"
                          for d in anns for v in [names("v")]))
    rule = check.cel.format(*(_typed(d, A) for d in anns))
    return Rule(check.keys[0], "cross-check", "deny", f"!({applies}) || !({changed}) || !({each_valid}) || ({rule})",
                lit("annotations " + ", ".join(check.keys) + ": " + check.doc.replace("`", "")))


def _unsupported_rule(decl: Annotation, provider: str, support: AnnotationSupport, names: Names) -> Rule | None:
    honoured = support.of_annotation(decl)
    if honoured is FULLY:
        return None
    keys = _written_keys(decl)
    v = names("v")
    if honoured is None:
        ok, why = "false", "recognised but not implemented by this adapter; remove it"
    else:
        conditions = []
        if honoured.values is not None:
            conditions.append(f"({cel.canonical(decl.parser, v, names)}) in "
                              f"{lit_list(sorted(text_of(x) for x in honoured.values))}")
        if honoured.keys is not None:
            if not isinstance(decl.parser, cel.KeyValues):
                raise NotExpressible(f"{decl.key}: supported keys of a non key=value annotation")
            x = names("x")
            conditions.append(f"{cel.keys_of(decl.parser, v, names)}.all({x}, {x} in {lit_list(sorted(honoured.keys))})")
        ok = all_of(*conditions)
        note = f" ({honoured.note})" if honoured.note else ""
        if honoured.values is not None:
            why = "supported values: " + ", ".join(sorted(map(text_of, honoured.values))) + note
        else:
            why = "supported keys: " + ", ".join(sorted(honoured.keys or ())) + note
    handed_off = " || ".join(_handed_off(support, names)) or "false"
    text = f'" is not supported by the {provider} provider: {why}'
    refused = f"({cel.valid(decl.parser, v, names)}) && !({ok})"
    if decl.pattern is not None:
        return _templated_rule(decl, "unsupported", "deny", bad=refused, v=v, text=text, names=names,
                               skip=handed_off)
    value = _first_value(A, keys)
    expression = " || ".join([
        f"!({_present(A, keys)})",
        " && ".join(f"({_unchanged(k)} || !({lit(k)} in {A}))" for k in keys),
        handed_off,
        f"!{bind(v, value, refused)}",
    ])
    return Rule(decl.key, "unsupported", "deny", expression, concat("annotation ", _which(keys), '="', _shown(value), text))


def _handed_off(support: AnnotationSupport, names: Names) -> list[str]:
    """The Service belongs to another controller (AWS ``type: external``): the check is silent."""
    out = []
    for key, values in sorted(support.handed_off.items()):
        decl = registry.get(key)
        if decl is None:
            continue
        w = names("w")
        matches = all_of(cel.valid(decl.parser, w, names),
                         f"({cel.canonical(decl.parser, w, names)}) in {lit_list(sorted(values))}")
        out.append(f"({_present(A, _written_keys(decl))}) && {bind(w, _first_value(A, _written_keys(decl)), matches)}")
    return out


# --------------------------------------------------------------------------------------------
# The policy
# --------------------------------------------------------------------------------------------


def rules(provider: str | None = None, *, support: AnnotationSupport | None = None,
          create_only: Action = "warn") -> Rules:
    """Every rule for ``provider``'s annotations (every declared annotation when None)."""
    decls = registry.for_provider(provider) if provider else registry.all_annotations()
    names = Names()
    out: list[Rule] = []
    skipped: list[str] = []
    for decl in decls:
        try:
            made = _invalid_rules(decl, names) + _alias_rules(decl)
            if decl.create_only:
                made.append(_create_only_rule(decl, create_only, names))
            if provider and support is not None:
                unsupported = _unsupported_rule(decl, provider, support, names)
                made += [unsupported] if unsupported is not None else []
        except NotExpressible:
            skipped.append(decl.key)
            continue
        out += made
    for check in registry.cross_checks():
        if check.cel and all((d := registry.get(k)) is not None and (not provider or d.applies_to(provider))
                             for k in check.keys):
            out.append(_cross_check_rule(check, names))
    return Rules(tuple(out), tuple(skipped))


def match_conditions(load_balancer_class: str | None, ignore_unclassed: bool) -> list[dict[str, str]]:
    """The Services the controller acts on: LoadBalancer, of a class it owns, not being deleted."""
    owned = [] if ignore_unclassed else ["!has(object.spec.loadBalancerClass)"]
    if load_balancer_class:
        owned.append(f"object.spec.loadBalancerClass == {lit(load_balancer_class)}")
    return [
        {"name": "load-balancer", "expression": 'has(object.spec.type) && object.spec.type == "LoadBalancer"'},
        {"name": "owned-class", "expression": " || ".join(owned) or "false"},
        {"name": "not-deleting", "expression": "!has(object.metadata.deletionTimestamp)"},
    ]


def _policy(name: str, validations: list[dict[str, str]], conditions: list[dict[str, str]],
            not_validated: Sequence[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": "ccm",
                                                     "app.kubernetes.io/component": "admission"}}
    if not_validated:
        meta["annotations"] = {"ccm.io/not-validated": ",".join(not_validated)}
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": meta,
        "spec": {
            "failurePolicy": "Ignore",
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                    "operations": ["CREATE", "UPDATE"], "resources": ["services"]}]},
            "matchConditions": conditions,
            "variables": [dict(v) for v in VARIABLES],
            "validations": validations,
        },
    }


def _binding(policy: str, actions: list[str], fixed: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": policy, "labels": {"app.kubernetes.io/name": "ccm",
                                                       "app.kubernetes.io/component": "admission"}}
    if fixed:
        # the chart's admissionPolicy.validationActions apply to the errors, never to warnings
        meta["annotations"] = {"ccm.io/validation-actions": "fixed"}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": meta, "spec": {"policyName": policy, "validationActions": actions}}


def documents(generated: Rules, *, name: str = "ccm-annotations", load_balancer_class: str | None = None,
              ignore_unclassed: bool = False, bindings: bool = True) -> list[dict[str, Any]]:
    """The policies (and bindings) holding ``generated``'s rules."""
    conditions = match_conditions(load_balancer_class, ignore_unclassed)
    out: list[dict[str, Any]] = []
    for action, policy_name, actions in (("deny", name, ["Deny"]), ("warn", f"{name}-warnings", ["Warn"])):
        validations = [r.validation() for r in generated.rules if r.action == action]
        if not validations:
            continue
        out.append(_policy(policy_name, validations, conditions, generated.not_validated if action == "deny" else ()))
        if bindings:
            out.append(_binding(policy_name, actions, fixed=action == "warn"))
    return out


_KEY_CHARS = re.compile(r"[^a-z0-9-]")


def policy_name(provider: str | None) -> str:
    return "ccm-annotations" + (f"-{_KEY_CHARS.sub('-', provider)}" if provider else "")

