"""In-memory cloud provider: the service controller's test double, also runnable (``--cloud-provider fake``)."""

from __future__ import annotations

from providers.adapter.options import check_known_options
from providers.fake.cloud import Call, FakeCloud, FakeInventory, FakeLoadBalancer, FakePlanner, Gate
from providers.fake.instances import FakeInstance, FakeInstances
from providers.port import ProviderContext

#: every option the fake cloud reads (anything else is a start-up error naming it)
OPTIONS = frozenset({"annotation-provider"})
__all__ = ["OPTIONS", "Call", "FakeCloud", "FakeInstance", "FakeInstances", "FakeInventory", "FakeLoadBalancer",
           "FakePlanner", "Gate", "create"]


def create(context: ProviderContext) -> FakeCloud:
    """Registry factory; option ``annotation-provider`` picks whose annotations are validated."""
    check_known_options(context.options, OPTIONS, provider="fake")
    return FakeCloud(
        cluster_name=context.cluster_name,
        annotation_provider=context.options.get("annotation-provider", "fake"),
    )
