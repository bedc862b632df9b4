"""Fault injection: throttling, 5xx before or after the change, failed operations, latency, the k-th call."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions as gexc
from google.cloud import compute_v1

from emulators.gce.faults import Fault
from tests.emulators.gce.world import DONE, P, R, health_check, wait


def _hc(name: str) -> compute_v1.HealthCheck:
    return compute_v1.HealthCheck(name=name, type_="TCP", tcp_health_check=compute_v1.TCPHealthCheck(port=80))


def test_throttling_answers_429_rate_limit_exceeded(emu, clients):
    emu.faults.throttle(1.0, methods="compute.regionHealthChecks.list")
    with pytest.raises(gexc.TooManyRequests) as err:
        list(clients.hc.list(project=P, region=R))
    assert err.value.errors[0]["reason"] == "rateLimitExceeded"


def test_a_seeded_fraction_is_reproducible(emu, clients):
    def run() -> list[bool]:
        emu.faults.clear()
        emu.faults.throttle(0.5, methods="compute.regions.get")
        out = []
        for _ in range(12):
            try:
                clients.regions.get(project=P, region=R)
                out.append(True)
            except gexc.TooManyRequests:
                out.append(False)
        return out

    first = run()
    assert 0 < first.count(False) < 12 and run() == first


def test_the_kth_mutating_call_fails_before_or_after_applying(emu, clients):
    emu.faults.fail_nth_mutation(2, 503)
    health_check(clients, "a")  # mutating call 1
    with pytest.raises(gexc.ServiceUnavailable):
        clients.hc.insert_unary(project=P, region=R, health_check_resource=_hc("b"))
    assert [r["name"] for r in emu.resources()] == ["a"]  # not applied
    emu.faults.fail_nth_mutation(1, 500, after_apply=True)
    with pytest.raises(gexc.InternalServerError):
        clients.hc.insert_unary(project=P, region=R, health_check_resource=_hc("c"))
    assert sorted(r["name"] for r in emu.resources()) == ["a", "c"]  # applied, the answer was lost
    assert [c.status for c in emu.mutating_calls()] == [200, 503, 500]


def test_operations_can_end_in_error(emu, clients):
    emu.faults.fail_operations("compute.regionHealthChecks.insert", code="RESOURCE_NOT_READY", http_status=400)
    op = wait(clients, clients.hc.insert_unary(project=P, region=R, health_check_resource=_hc("x")))
    assert op.status == DONE and op.error.errors[0].code == "RESOURCE_NOT_READY"
    assert emu.resources() == []
    health_check(clients, "x")  # times=1: the next one goes through


def test_latency(emu, clients):
    emu.faults.add(Fault(methods="compute.regions.get", latency=0.2, times=1))
    start = time.monotonic()
    clients.regions.get(project=P, region=R)
    assert time.monotonic() - start >= 0.2
