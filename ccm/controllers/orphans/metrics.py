"""The orphan collector's metrics (ours; upstream has no such controller)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ORPHAN_RESOURCES = Gauge(
    "ccm_orphan_resources",
    "Cloud resources tagged for this cluster whose Service is gone, as the last sweep found them: "
    "waiting (younger than one sweep period as orphans), would_delete (dry run), deleted, failed.",
    ["provider", "action"],
)
ORPHAN_RESOURCES_DELETED = Counter(
    "ccm_orphan_resources_deleted_total",
    "Orphaned cloud resources the collector deleted (--gc-delete).",
    ["provider"],
)
ORPHAN_SWEEPS = Counter(
    "ccm_orphan_sweeps_total",
    "Orphan sweeps, by result (error: the inventory or the Service list could not be read).",
    ["provider", "result"],
)
