"""The port, registry and metrics: the neutral model is immutable, names are upstream's, metrics count results."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import REGISTRY

from providers.adapter.naming import default_load_balancer_name
from providers.metrics import InstrumentedLoadBalancer
from providers.port import (
    EnsureResult,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    Node,
    ProviderContext,
    ProviderWarning,
    RetryError,
)
from providers.registry import create_provider


def test_default_name_matches_upstream_example() -> None:
    assert default_load_balancer_name("6c0e8e2b-7a1f-4c3d-9b2e-0123456789ab") == "a6c0e8e2b7a1f4c3d9b2e0123456789a"
    assert len(default_load_balancer_name("x" * 40)) == 32


def test_request_is_read_only() -> None:
    req = LoadBalancerRequest(cluster_name="c", namespace="ns", name="web", uid="u",
                              annotations={"k": "v"}, nodes=(Node(name="n1", labels={"a": "b"}),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        req.annotations["k"] = "w"  # type: ignore[index]
    with pytest.raises(TypeError):
        req.nodes[0].labels["a"] = "c"  # type: ignore[index]
    assert req.key == "ns/web"


def test_annotation_reads_default_when_unset() -> None:
    @dataclasses.dataclass(frozen=True)
    class Decl:
        key: str
        default: object

    req = LoadBalancerRequest(cluster_name="c", namespace="ns", name="web", uid="u", annotations={"set": 5})
    assert req.annotation(Decl("set", 1)) == 5
    assert req.annotation(Decl("unset", 7)) == 7


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown cloud provider 'nope'"):
        create_provider("nope", ProviderContext())


class _Flaky(LoadBalancer):
    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        return None

    def name(self, request: LoadBalancerRequest) -> str:
        return "n"

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        raise RetryError("operation pending", 3)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        return ()

    def delete(self, request: LoadBalancerRequest) -> None:
        return None


def _count(provider: str, operation: str, result: str) -> float:
    v = REGISTRY.get_sample_value("ccm_provider_operations_total",
                                  {"provider": provider, "operation": operation, "result": result})
    return v or 0.0


def test_instrumented_wrapper_counts_results() -> None:
    lb = InstrumentedLoadBalancer(_Flaky(), "flaky-test")
    req = LoadBalancerRequest(cluster_name="c", namespace="ns", name="web", uid="u")
    with pytest.raises(RetryError) as info:
        lb.ensure(req)
    assert info.value.retry_after == 3
    lb.delete(req)
    assert _count("flaky-test", "ensure", "retry") == 1
    assert _count("flaky-test", "delete", "success") == 1


def test_context_repr_hides_options_that_may_hold_credentials() -> None:
    ctx = ProviderContext(cluster_name="c", options={"aws-secret-access-key": "s3cr3t"})
    assert "s3cr3t" not in repr(ctx)
    assert ctx.options["aws-secret-access-key"] == "s3cr3t"
