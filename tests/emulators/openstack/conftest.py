"""One OpenStack emulator per test module (reset before each test) and openstacksdk connections to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.openstack.emulator import OpenStackEmulator


@pytest.fixture(scope="module")
def emu() -> Iterator[OpenStackEmulator]:
    emulator = OpenStackEmulator(validate=True).start()
    emulator.add_server("node-1", ip="10.0.0.11")
    emulator.add_server("node-2", ip="10.0.0.12")
    emulator.baseline()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def conn(emu: OpenStackEmulator) -> Any:
    import openstack

    connection = openstack.connection.Connection(auth_url=emu.auth_url, **emu.credentials())
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    if "emu" in request.fixturenames:
        emulator = request.getfixturevalue("emu")
        emulator.reset()
        yield
        assert emulator.schema_violations == []
    else:
        yield


def wait_active(conn: Any, lb_id: str) -> Any:
    """Poll the load balancer until its job is done (the emulator completes it on a later read)."""
    return conn.load_balancer.wait_for_load_balancer(lb_id, interval=0.005, wait=10)
