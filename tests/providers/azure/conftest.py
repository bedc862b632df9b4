"""Fixtures: one ARM emulator per test module (reset per test), the Azure world, a fresh provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.azure import AzureEmulator
from tests.emulators.azure.conftest import arm_server  # noqa: F401 - one emulator per module, shared fixture
from tests.providers.azure.harness import AzureWorld, build_world, make_cloud


@pytest.fixture
def arm(arm_server: AzureEmulator) -> AzureEmulator:  # noqa: F811 - the fixture, by name
    arm_server.reset()
    return arm_server


@pytest.fixture
def world(arm: AzureEmulator) -> AzureWorld:
    return build_world(arm)


@pytest.fixture
def cloud(arm: AzureEmulator, world: AzureWorld) -> Iterator[Any]:
    c = make_cloud(arm)
    try:
        yield c
    finally:
        c.close()
