"""One ARM emulator per test module (reset before each test) and an SDK client against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.mgmt.network import NetworkManagementClient

from emulators.azure import AzureEmulator

from .helpers import LOCATION, RG, make_client


@pytest.fixture(scope="module")
def arm_server() -> Iterator[AzureEmulator]:
    with AzureEmulator(retry_after=0) as arm:
        yield arm


@pytest.fixture
def arm(arm_server: AzureEmulator) -> AzureEmulator:
    arm_server.reset()
    arm_server.options.page_size = 100
    arm_server.state.strict = True
    arm_server.state.lro_seconds = 0.0
    arm_server.add_resource_group(RG, LOCATION)
    return arm_server


@pytest.fixture
def net(arm: AzureEmulator) -> Iterator[NetworkManagementClient]:
    client = make_client(arm)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def subnet_id(arm: AzureEmulator) -> str:
    vnet = arm.add_virtual_network(RG, subnets={"kubernetes-subnet": "10.240.0.0/24", "other": "10.240.1.0/24"},
                                   address_prefixes=("10.240.0.0/16",))
    return f"{vnet}/subnets/kubernetes-subnet"
