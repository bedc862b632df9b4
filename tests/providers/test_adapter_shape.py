"""The shared adapter shape: operations as values, the apply runner, the retry policy, names, ownership,
the upstream per-cloud API metrics and the registry's module strings."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from providers import registry
from providers.adapter.apply import AlreadyDone, Executor, apply
from providers.adapter.naming import bounded_name, default_load_balancer_name
from providers.adapter.operations import Kind, Operation, Ref, describe_plan, has_ref, resolve
from providers.adapter.ownership import Owner, foreign, merge_tags, owns
from providers.adapter.retry import RetryPolicy
from providers.metrics import ApiCallCounter, request_label
from providers.port import Operation as PortOperation
from providers.port import Resource, RetryError, UserError

REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Call(Operation):
    value: object = None

    def payload(self):
        return {"value": self.value}


def op(name: str, value: object = None, produces: str | None = None, kind: Kind = Kind.CREATE) -> Call:
    return Call(kind=kind, resource=Resource("test/thing", name), value=value, produces=produces)


class Recorder(Executor[Call]):
    def __init__(self, fail: dict[str, list[BaseException]] | None = None, policy: RetryPolicy | None = None) -> None:
        self.sent: list[tuple[str, object]] = []
        self.waited: list[str] = []
        self.fail = fail or {}
        if policy is not None:
            self.retry = policy

    def send(self, op, refs, key):
        errors = self.fail.get(op.resource.name)
        if errors:
            raise errors.pop(0)
        value = resolve(op.value, refs)
        self.sent.append((op.resource.name, value))
        return {"id": f"id-{op.resource.name}", "value": value}

    def wait(self, op, response, key):
        self.waited.append(op.resource.name)
        return response

    def throttled(self, exc):
        return isinstance(exc, TimeoutError)

    def produced(self, op, result):
        return result["id"]


def test_operations_are_frozen_values_that_describe_and_serialise_themselves():
    a = op("sg", {"group": Ref("lb", ("Arn",))}, produces="sg")
    assert isinstance(a, PortOperation)  # what ccm plan can print
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.kind = Kind.DELETE  # type: ignore[misc]
    assert a == op("sg", {"group": Ref("lb", ("Arn",))}, produces="sg")
    assert a.describe() == "create test/thing sg"
    assert json.loads(json.dumps(a.to_json())) == {
        "kind": "create", "resource": {"type": "test/thing", "name": "sg"}, "description": "create test/thing sg",
        "call": {"value": {"group": "<lb.Arn>"}}, "produces": "sg"}
    assert has_ref(a.value) and not has_ref({"x": [1, "y"]})
    assert describe_plan((a, op("lb", kind=Kind.DELETE))) == ["1. create test/thing sg", "2. delete test/thing lb"]
    assert resolve({"a": [Ref("x")]}, {}, placeholders=True) == {"a": ["<x>"]}


def test_apply_runs_in_order_resolves_refs_waits_and_skips_what_is_already_done():
    ex = Recorder(fail={"dup": [AlreadyDone("Duplicate")]})
    refs = apply((op("sg", produces="sg"), op("dup"), op("lb", {"groups": [Ref("sg")]}, produces="lb")), ex, "ns/svc")
    assert ex.sent == [("sg", None), ("lb", {"groups": ["id-sg"]})]
    assert ex.waited == ["sg", "lb"]
    assert refs == {"sg": "id-sg", "lb": "id-lb"}


def test_apply_stops_at_the_first_failure():
    ex = Recorder(fail={"b": [UserError("no", reason="Nope")]})
    with pytest.raises(UserError):
        apply((op("a"), op("b"), op("c")), ex, "ns/svc")
    assert [name for name, _ in ex.sent] == ["a"]


def test_throttling_is_retried_with_capped_backoff_then_becomes_a_retry_error():
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, base_delay=1, max_delay=1.5, retry_after=7, sleep=slept.append)
    ex = Recorder(fail={"a": [TimeoutError("429"), TimeoutError("429")]}, policy=policy)
    apply((op("a"),), ex, "ns/svc")
    assert ex.sent == [("a", None)] and slept == [1, 1.5]
    ex = Recorder(fail={"a": [TimeoutError("429")] * 3}, policy=policy)
    with pytest.raises(RetryError) as info:
        apply((op("a"),), ex, "ns/svc")
    assert info.value.retry_after == 7 and "still throttled after 3 attempts" in str(info.value)
    # anything else is not retried
    ex = Recorder(fail={"a": [ValueError("bad")]}, policy=policy)
    with pytest.raises(ValueError):
        apply((op("a"),), ex, "ns/svc")


def test_names_are_deterministic_and_bounded():
    assert default_load_balancer_name("6c0e8e2b-7a1f-4c3d-9b2e-0123456789ab") == "a6c0e8e2b7a1f4c3d9b2e0123456789a"
    name = bounded_name("a123456789ab-", "tcp65535-and-more", "x", 1, limit=32)
    assert len(name) == 32 and name.startswith("a123456789ab-tcp65535") and name == bounded_name(
        "a123456789ab-", "tcp65535-and-more", "x", 1, limit=32)
    assert bounded_name("p-", "m", "x", limit=32) != bounded_name("p-", "m", "y", limit=32)
    with pytest.raises(ValueError):
        bounded_name("x" * 30, "m", limit=32)


def test_ownership_marks_win_over_user_tags():
    ours = {"kubernetes.io/cluster/c": "owned", "kubernetes.io/service-name": "ns/a"}
    user = {"team": "x", "kubernetes.io/service-name": "ns/other"}
    assert merge_tags(user, ours) == {"team": "x", **ours}
    assert merge_tags({"Kubernetes.io/Service-Name": "ns/b"}, ours, case_insensitive=True) == ours
    assert owns({**ours, "team": "x"}, ours) and not owns({**ours, "kubernetes.io/service-name": "ns/b"}, ours)
    err = foreign("load balancer", "a1", Owner("c", "ns/a"))
    assert err.reason == "ForeignLoadBalancer" and "never adopted" in str(err)


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_api_requests_are_counted_under_upstream_metric_names():
    counter = ApiCallCounter("shape-test", extra_labels=("region",))
    counter.record("elb", "DescribeLoadBalancers", mutating=False, seconds=2.5, labels={"region": "r1"})
    counter.record("elb", "CreateLoadBalancer", mutating=True, ok=False, throttled=True, labels={"region": "r1"})
    assert request_label("DescribeLoadBalancers") == "describe_load_balancers"
    labels = {"request": "describe_load_balancers", "region": "r1"}
    assert _sample("cloudprovider_shape_test_api_request_duration_seconds_count", labels) == 1
    assert _sample("cloudprovider_shape_test_api_request_duration_seconds_bucket", {**labels, "le": "5.0"}) == 1
    assert _sample("cloudprovider_shape_test_api_request_duration_seconds_bucket", {**labels, "le": "1.0"}) == 0
    assert _sample("cloudprovider_shape_test_api_request_errors_total",
                   {"request": "create_load_balancer", "region": "r1"}) == 1
    assert _sample("cloudprovider_shape_test_api_throttled_requests_total",
                   {"operation_name": "create_load_balancer"}) == 1
    assert _sample("ccm_cloud_api_requests_total", {"provider": "shape-test", "service": "elb",
                                                    "operation": "CreateLoadBalancer", "kind": "mutating",
                                                    "result": "error"}) == 1
    assert counter.totals() == (1, 1)
    # a second counter of the same provider shares the metrics (one per process)
    ApiCallCounter("shape-test", extra_labels=("region",))
    with pytest.raises(ValueError):
        ApiCallCounter("shape-test", extra_labels=("zone",))


def test_the_registry_names_modules_and_finds_support_without_constructing_a_provider():
    assert {"aws", "local", "fake", "gcp", "azure", "openstack"} <= set(registry.provider_names())
    aws = registry.annotation_support("aws")
    assert aws is not None and not aws.everything
    assert registry.annotation_support("nope") is None
    assert "fake" not in registry.supports()


def test_only_an_adapters_apply_module_sends_mutating_calls():
    """Style rule: plans are pure, observe only reads; each cloud SDK's (and the local engine's) mutating
    methods appear only in apply.py."""
    mutating = {
        "aws": r"clients\.(elb|elbv2|ec2)\.(create|delete|modify|register|deregister|authorize|revoke|attach|detach|"
               r"apply|set|add|remove|configure)_\w+\(",
        "gcp": r"\.(insert|delete|patch|update|add_instances|remove_instances)_unary\(",
        "azure": r"\.(begin_create_or_update|begin_delete|update_tags|begin_update_tags)\(",
        "openstack": r"(load_balancer|network|lbaas|net)\.(create|update|delete|put|post|set_tags|add_tag|remove_tag|"
                     r"failover)\w*\(",
        "local": r"engine\.(listen|update|close_listener)\(|vips\.(assign|release)\(",
    }
    for cloud, pattern in mutating.items():
        calls = re.compile(pattern)
        offenders = [str(p.relative_to(REPO)) for p in (REPO / "providers" / cloud).glob("*.py")
                     if p.name != "apply.py" and calls.search(p.read_text(encoding="utf-8"))]
        assert offenders == [], cloud
