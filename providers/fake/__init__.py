"""In-memory cloud provider: the service controller's test double, also runnable (``--cloud-provider fake``)."""

from __future__ import annotations

from providers.base import ProviderContext
from providers.common import check_known_options
from providers.fake.cloud import Call, FakeCloud, FakeLoadBalancer, Gate
from providers.fake.instances import FakeInstance, FakeInstances

OPTIONS = frozenset({"annotation-provider"})
__all__ = ["OPTIONS", "Call", "FakeCloud", "FakeInstance", "FakeInstances", "FakeLoadBalancer", "Gate", "create"]


def create(context: ProviderContext) -> FakeCloud:
    """Registry factory; option ``annotation-provider`` picks whose annotations are validated."""
    check_known_options(context.options, OPTIONS, provider="fake")
    return FakeCloud(
        cluster_name=context.cluster_name,
        annotation_provider=context.options.get("annotation-provider", "fake"),
    )
