"""Bad input never crashes the server: every malformed body is a 4xx Status, never a 500.

Runs the registry (the layer under HTTP) directly, so many bodies fit in a second or two.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccm.apiserver.errors import APIError
from ccm.apiserver.server import APIServer

BASES: dict[str, dict[str, Any]] = {
    "services": {"metadata": {"name": "x", "labels": {"a": "b"}, "finalizers": ["a.io/b"]},
                 "spec": {"type": "LoadBalancer", "ports": [{"name": "p", "port": 80, "nodePort": 30001}],
                          "selector": {"a": "b"}, "externalTrafficPolicy": "Local",
                          "loadBalancerSourceRanges": ["10.0.0.0/8"]},
                 "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}},
    "nodes": {"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
              "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
    "endpointslices": {"metadata": {"name": "e"}, "addressType": "IPv4",
                       "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
                       "ports": [{"port": 80}]},
    "leases": {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 3}},
}
PATCH_TYPES = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json"}
JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 70000) | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
                    max_leaves=4)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@pytest.fixture(scope="module")
def server() -> APIServer:
    return APIServer()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(resource=st.sampled_from(sorted(BASES)), pick=st.integers(0, 1000), value=JSON,
       verb=st.sampled_from(["create", "update", "merge", "strategic", "status"]))
def test_malformed_bodies_get_a_status_not_a_crash(server: APIServer, resource: str, pick: int, value: Any,
                                                   verb: str) -> None:
    reg = server.registry
    strategy = next(s for s in server.strategies if s.plural == resource)
    ns = "default" if strategy.namespaced else None
    base = BASES[resource]
    body = copy.deepcopy(base)
    paths = _paths(body)
    target = paths[pick % len(paths)]
    holder = body
    for key in target[:-1]:
        holder = holder[key]
    holder[target[-1]] = value
    name = base["metadata"]["name"]
    try:
        if verb == "create":
            reg.create(strategy, ns, body)
        else:
            if server.store.get(strategy.bucket, f"{ns}/{name}" if ns else name) is None:
                reg.create(strategy, ns, copy.deepcopy(base))
            if verb == "update":
                reg.update(strategy, ns, name, body)
            elif verb == "status" and strategy.has_status:
                reg.update(strategy, ns, name, body, subresource="status")
            elif verb in PATCH_TYPES:
                reg.patch(strategy, ns, name, PATCH_TYPES[verb], body)
    except APIError as exc:
        assert 400 <= exc.code < 500, exc.message
