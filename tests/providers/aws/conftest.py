"""Fixtures: one moto server per session (reset per test), the AWS world, a fresh provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.port import ProviderContext
from tests.providers.aws.harness import CLUSTER, REGION, AwsWorld, MotoServer, build_world


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.client("ec2").describe_vpcs()  # warm the lazily loaded EC2 backend once (2-3 s)
    server.client("elbv2").describe_load_balancers()
    server.client("elb").describe_load_balancers()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def world(moto: MotoServer) -> AwsWorld:
    return build_world(moto)


def make_cloud(server: MotoServer, **options: str) -> Any:
    from providers.aws import create

    return create(ProviderContext(cluster_name=CLUSTER, options={
        "aws-endpoint-url": server.url, "aws-region": REGION, "aws-max-attempts": "3",
        "aws-access-key-id": "testing", "aws-secret-access-key": "testing", **options}))


@pytest.fixture
def cloud(moto: MotoServer, world: AwsWorld) -> Iterator[Any]:
    c = make_cloud(moto)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def cluster(api_client: Any, moto: MotoServer, world: AwsWorld) -> Iterator[Any]:
    """The controller (embedded API server + official client) driving the AWS provider against moto."""
    from tests.providers.aws.cluster import running_cluster

    with running_cluster(api_client, moto, world) as c:
        yield c
