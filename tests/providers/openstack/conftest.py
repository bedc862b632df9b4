"""One OpenStack emulator per test module (reset per test), providers built from a cloud.conf pointing at it
(read as ``ccm controller --cloud-config`` reads it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.openstack.emulator import OpenStackEmulator
from providers.port import LoadBalancerRequest, Node, NodeAddress, ProviderContext, ServicePort

CLUSTER = "c1"
#: fast polling of Octavia jobs (the emulator completes a job on the first read after it)
FAST = {"openstack-lb-wait-initial": "0.005", "openstack-lb-wait-max-interval": "0.02",
        "openstack-lb-wait-timeout": "5"}


@pytest.fixture(scope="module")
def emu() -> Iterator[OpenStackEmulator]:
    emulator = OpenStackEmulator(validate=True).start()
    for i in (1, 2, 3):
        emulator.add_server(f"node-{i}", ip=f"10.0.0.1{i}")
    emulator.add_tls_container("https://barbican.example/v1/containers/web")
    emulator.baseline()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    if "emu" not in request.fixturenames:
        yield
        return
    emulator = request.getfixturevalue("emu")
    emulator.reset()
    yield
    assert emulator.schema_violations == []


def make_cloud(emu: OpenStackEmulator, *, options: dict[str, str] | None = None, extra_conf: str = "",
               application_credential: bool = False, **lb: str) -> Any:
    """A provider from the emulator's cloud.conf (``lb``: more ``[LoadBalancer]`` keys; ``extra_conf``: more
    sections), with fast Octavia polling and ``options`` on top."""
    from providers.openstack import create, parse_cloud_config

    conf = emu.cloud_conf(application_credential=application_credential, **lb) + extra_conf
    return create(ProviderContext(CLUSTER, {**parse_cloud_config(conf, "cloud.conf"), **FAST, **(options or {})}))


@pytest.fixture(scope="module")
def module_cloud(emu: OpenStackEmulator) -> Iterator[Any]:
    """One provider for the module (its Keystone token survives emulator resets)."""
    cloud = make_cloud(emu)
    yield cloud
    cloud.close()


def nodes(emu: OpenStackEmulator, *names: str) -> tuple[Node, ...]:
    servers = {row["name"]: sid for sid, row in emu.cloud.compute.servers.items()}
    out = []
    for name in names or ("node-1", "node-2", "node-3"):
        address = f"10.0.0.1{name[-1]}"
        out.append(Node(name, f"openstack:///{servers[name]}", (NodeAddress("InternalIP", address),),
                        {"role": "edge" if name == "node-1" else "core"}))
    return tuple(out)


def request(emu: OpenStackEmulator, name: str = "web", *, annotations: dict[str, Any] | None = None,
            ports: tuple[ServicePort, ...] | None = None, node_names: tuple[str, ...] = (), **fields: Any
            ) -> LoadBalancerRequest:
    """A request as the controller builds it (annotation values typed, as the registry parses them)."""
    from ccm.annotations import registry

    parsed = registry.parse("openstack", {k: str(v) for k, v in (annotations or {}).items()})
    assert not parsed.errors, parsed.errors
    req = LoadBalancerRequest(CLUSTER, "default", name, f"uid-{name}",
                              ports=ports or (ServicePort("http", "TCP", 80, 30080),
                                              ServicePort("https", "TCP", 443, 30443)),
                              nodes=nodes(emu, *node_names), annotations=parsed.values)
    return dataclasses.replace(req, **fields) if fields else req


def mutating(emu: OpenStackEmulator) -> list[str]:
    return [c.action for c in emu.mutating_calls()]


@pytest.fixture(scope="module")
def conn_factory(emu: OpenStackEmulator) -> Iterator[Any]:
    """openstacksdk connections as another user of the same project (a person, another tool)."""
    import openstack

    made: list[Any] = []

    def factory() -> Any:
        if not made:
            made.append(openstack.connection.Connection(auth_url=emu.auth_url, **emu.credentials()))
        return made[0]

    yield factory
    for conn in made:
        conn.close()
