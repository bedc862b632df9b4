"""The fake cloud: its in-memory store is "the cloud"; each controller instance gets its own hooked view."""

from __future__ import annotations

from typing import Any

from providers.adapter.naming import default_load_balancer_name
from providers.fake import FakeCloud
from providers.fake.cloud import RESOURCE_TYPE
from providers.port import CloudProvider
from tests.reliability.clouds.base import FaultPlan, HookedCloud, Hooks, Traits, hooked_counter, node


class FakeFixture(Traits):
    name = "fake"
    multi_cluster = False

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.store = FakeCloud()

    def start(self) -> None:
        self.reset()

    def stop(self) -> None:
        pass

    def reset(self) -> None:
        self.faults.reset()
        self.store = FakeCloud()
        hooked_counter(self.store.lb.counter, Hooks(self.faults, self.store.lb.counter))

    def make_cloud(self, cluster: str | None = None) -> CloudProvider:
        return HookedCloud(self.store, Hooks(self.faults, self.store.lb.counter))

    def make_probe(self, cluster: str | None = None) -> CloudProvider:
        return self.store

    def nodes(self) -> list[dict[str, Any]]:
        return [node("node-a", "10.0.0.1"), node("node-b", "10.0.0.2")]

    def spare_node(self) -> dict[str, Any]:
        return node("node-c", "10.0.0.3")

    def list_all(self) -> list[str]:
        return [f"{RESOURCE_TYPE} {default_load_balancer_name(spec.uid)}" for spec in self.store.lb.specs()]

    def mutating_calls(self) -> int:
        return self.store.lb.counter.totals()[0]
