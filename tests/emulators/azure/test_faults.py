"""Fault injection: throttling, 5xx, lost responses, failed operations, latency; inventory/reset."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from emulators.azure import AzureEmulator, Fault

from .helpers import RG, error_code, make_client, public_ip


def test_throttling_is_retried_by_the_sdk_after_retry_after(arm: AzureEmulator, net: Any) -> None:
    public_ip(net, "pip")
    arm.calls.clear()
    arm.faults.throttle(times=1, retry_after=0, method="GET")
    assert net.public_ip_addresses.get(RG, "pip").name == "pip"
    assert [c.status for c in arm.calls.all()] == [429, 200]


def test_persistent_throttling_surfaces_after_the_sdk_retries(arm: AzureEmulator, net: Any) -> None:
    arm.faults.throttle(retry_after=0)
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.get(RG, "pip")
    assert (e.value.status_code, error_code(e.value)) == (429, "TooManyRequests")
    assert len(arm.calls.all()) == 3  # retry_total=2


def test_lost_response_after_the_kth_mutation_leaves_the_change_applied(arm: AzureEmulator) -> None:
    client = make_client(arm, retry_total=0)
    public_ip(client, "first")
    arm.faults.fail_nth_mutation(1, when="after")
    with pytest.raises(HttpResponseError) as e:
        public_ip(client, "second")
    assert e.value.status_code == 500
    assert arm.state.exists(arm.state.resource_id(RG, "Microsoft.Network", ("publicIPAddresses", "second")))
    public_ip(client, "third")  # the fault fired once


def test_failure_before_applying_changes_nothing(arm: AzureEmulator) -> None:
    client = make_client(arm, retry_total=0)
    arm.faults.fail_nth_mutation(2, when="before", status=503, code="ServerBusy")
    public_ip(client, "first")
    with pytest.raises(HttpResponseError) as e:
        public_ip(client, "second")
    assert (e.value.status_code, error_code(e.value)) == (503, "ServerBusy")
    assert [i.rsplit("/", 1)[1] for i in arm.state.inventory()] == ["first"]


def test_failed_operation_raises_and_marks_the_resource_failed(arm: AzureEmulator, net: Any) -> None:
    arm.faults.fail_operations("RetryableError")
    with pytest.raises(HttpResponseError) as e:
        public_ip(net, "pip")
    assert error_code(e.value) == "RetryableError"
    assert net.public_ip_addresses.get(RG, "pip").provisioning_state == "Failed"
    assert public_ip(net, "pip").provisioning_state == "Succeeded"  # a second PUT repairs it


def test_latency_and_probability(arm: AzureEmulator, net: Any) -> None:
    public_ip(net, "pip")
    arm.faults.slow(0.2, times=1)
    start = time.monotonic()
    net.public_ip_addresses.get(RG, "pip")
    assert time.monotonic() - start >= 0.2
    arm.calls.clear()
    arm.faults.add(Fault(method="GET", status=500, probability=0.5, times=None))
    client = make_client(arm, retry_total=0)
    outcomes = []
    for _ in range(20):
        try:
            client.public_ip_addresses.get(RG, "pip")
            outcomes.append(200)
        except HttpResponseError as exc:
            outcomes.append(exc.status_code)
    assert 0 < outcomes.count(500) < 20 and set(outcomes) == {200, 500}


def test_reset_forgets_everything(arm: AzureEmulator, net: Any) -> None:
    public_ip(net, "pip")
    arm.faults.throttle()
    arm.reset()
    assert arm.state.inventory() == [] and arm.calls.all() == []
    arm.add_resource_group(RG)
    public_ip(net, "pip")  # no throttling left
