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
credentials are used; otherwise google.auth's default chain), the gce.conf ``[global]`` keys as
:func:`parse_cloud_config` returns them (``--cloud-config``; unknown keys are an error),
``gcp-operation-timeout`` (seconds to wait for one operation, default 300). Any other option is
an error naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.port import ProviderContext

if TYPE_CHECKING:
    from providers.gcp.cloud import GcpCloud

annotation_provider = "gcp"


def parse_cloud_config(text: str, source: str) -> dict[str, str]:
    """``--cloud-config``: gce.conf's ``[global]`` keys as provider options (``node-tags`` joined by commas).

    Read by ``providers.cloudconfig`` for ``--cloud-provider gcp``; an unknown section or key is an
    error naming it. Costs no SDK import.
    """
    from providers.gcp.config import parse_gce_conf

    return {key: ",".join(values) for key, values in parse_gce_conf(text, source).items()}


def create(context: ProviderContext) -> GcpCloud:
    """Imported lazily so ``providers.gcp.support`` (read by ``ccm annotations``) costs no SDK import."""
    from providers.gcp.cloud import GcpCloud

    return GcpCloud(context)
