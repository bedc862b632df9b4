"""In-memory cloud provider: the service controller's test double, also runnable (``--cloud-provider fake``)."""

from __future__ import annotations

from providers.fake.cloud import Call, FakeCloud, FakeInventory, FakeLoadBalancer, FakePlanner, Gate
from providers.fake.instances import FakeInstance, FakeInstances
from providers.port import ProviderContext

__all__ = ["Call", "FakeCloud", "FakeInstance", "FakeInstances", "FakeInventory", "FakeLoadBalancer",
           "FakePlanner", "Gate", "create"]


def create(context: ProviderContext) -> FakeCloud:
    """Registry factory; option ``annotation-provider`` picks whose annotations are validated."""
    return FakeCloud(
        cluster_name=context.cluster_name,
        annotation_provider=context.options.get("annotation-provider", "fake"),
    )
