"""The orphan collector: cloud resources tagged for this cluster whose Service is gone (``--gc-period``)."""

from ccm.controllers.orphans.controller import OrphanCollector, SweepResult

__all__ = ["OrphanCollector", "SweepResult"]
