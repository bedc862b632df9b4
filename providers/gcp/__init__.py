"""GCP: external and internal passthrough load balancers on Compute Engine with google-cloud-compute.

Follows kubernetes/cloud-provider-gcp (names, health checks, firewalls) on regional backend
services instead of target pools; deviations are in README.md. Layout: ``config`` reads
gce.conf and the flags, ``settings`` the annotations, ``support`` declares which are
implemented, ``world`` maps nodes to instances and tags, ``groups`` keeps the shared per-zone
instance groups, ``kinds`` is the per-type interface (external, internal), ``desired`` /
``observe`` / ``plan`` are the pure state, the reads and the pure diff, ``apply`` is the only
module that sends a mutating call, ``loadbalancer`` runs them, ``planning`` and ``inventory``
are the optional capabilities, ``cloud`` ties them together.

``ProviderContext.options``: ``gcp-project`` and ``gcp-region`` (else gce.conf ``project-id`` and
the region of ``local-zone``), ``gcp-endpoint-url`` (an emulator: with ``http://`` anonymous
credentials are used; otherwise google.auth's default chain), ``cloud-config`` (the gce.conf
path; unknown keys are an error), ``gcp-operation-timeout`` (seconds to wait for one operation,
default 300).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.port import ProviderContext

if TYPE_CHECKING:
    from providers.gcp.cloud import GcpCloud

annotation_provider = "gcp"


def create(context: ProviderContext) -> GcpCloud:
    """Imported lazily so ``providers.gcp.support`` (read by ``ccm annotations``) costs no SDK import."""
    from providers.gcp.cloud import GcpCloud

    return GcpCloud(context)
