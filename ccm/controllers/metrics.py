"""Controller-manager metrics shared by every controller (component-base ``metrics/prometheus/controllers``)."""

from __future__ import annotations

from prometheus_client import Gauge

RUNNING_MANAGED_CONTROLLERS = Gauge(
    "running_managed_controllers",
    "Indicates where instances of a controller are currently running",
    ["name", "manager"],
)
