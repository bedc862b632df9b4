"""A Kubernetes-like CEL environment on Google's CEL runtime (cel-expr-python, i.e. cel-cpp).

cel-cpp brings the standard library, RE2 ``matches``, the strings extension (its ``trim`` removes
Go's ``unicode.IsSpace`` set, as cel-go does) and ``cel.bind``. What Kubernetes adds and the
policies use is registered here, implemented to Kubernetes' documented semantics: ``isIP`` and
``isCIDR`` (Go ``netip`` parsing without zones or IPv4-mapped IPv6 addresses, in ``gonetip``).

``evaluate`` runs a policy as the API server would for one request: variables in order, then
every validation (false -> its message), with ``object``, ``oldObject`` and ``variables`` bound.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_strings

from tests.admission import gonetip


def _valid(parse: Any, s: str) -> bool:
    try:
        parse(s)
    except gonetip.ParseError:
        return False
    return True


_FUNCTIONS = [
    cel.FunctionDecl("isIP", [cel.Overload("is_ip", cel.Type.BOOL, [cel.Type.STRING],
                                           impl=functools.partial(_valid, gonetip.k8s_ip))]),
    cel.FunctionDecl("isCIDR", [cel.Overload("is_cidr", cel.Type.BOOL, [cel.Type.STRING],
                                             impl=functools.partial(_valid, gonetip.k8s_cidr))]),
]


@functools.cache
def env() -> Any:
    return cel.NewEnv(
        variables={"object": cel.Type.DYN, "oldObject": cel.Type.DYN, "variables": cel.Type.DYN,
                   "v": cel.Type.STRING},
        extensions=[ext_strings.ExtStrings(), ext_bindings.ExtBindings()],
        functions=_FUNCTIONS,
    )


@functools.cache
def compiled(expression: str) -> Any:
    """Type-checked at compile time, as the API server checks a policy when it is created."""
    return env().compile(expression)


class EvaluationError(AssertionError):
    """An expression that errors: the API server would apply failurePolicy, never the check."""


def value(expression: str, data: Mapping[str, Any]) -> Any:
    result = compiled(expression).eval(data=dict(data))
    if result.type() == cel.Type.ERROR:
        raise EvaluationError(f"{expression[:200]}...: {result.plain_value()}")
    return result.plain_value()


def evaluate(spec: Mapping[str, Any], obj: Mapping[str, Any], old: Mapping[str, Any] | None = None,
             validations: Sequence[Mapping[str, str]] | None = None) -> list[str]:
    """The messages of the failed validations of a policy ``spec`` for one request (empty: admitted).

    Match conditions are evaluated first (a non-matching request is admitted untouched).
    """
    data: dict[str, Any] = {"object": obj, "oldObject": old, "variables": {}}
    if not all(value(c["expression"], data) for c in spec.get("matchConditions", ())):
        return []
    variables: dict[str, Any] = {}
    for var in spec.get("variables", ()):
        variables[var["name"]] = value(var["expression"], {**data, "variables": variables})
    data["variables"] = variables
    failed = []
    for check in validations if validations is not None else spec["validations"]:
        if not value(check["expression"], data):
            failed.append(str(value(check["messageExpression"], data)))
    return failed
