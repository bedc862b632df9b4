"""The ``local`` cloud: real load balancers on this machine, no privileges needed.

Options (``ProviderContext.options``; all optional):

* ``vip-pool`` - IPv4 CIDR the VIPs come from (default ``127.0.2.0/24``)
* ``state-file`` - JSON file holding VIP allocations (default: a temp dir per cluster name)
* ``node-health-port`` - the node proxy's ``/healthz`` port, probed for Cluster policy (10256)
* ``health-interval``, ``health-timeout`` - seconds (1, 1)
* ``unhealthy-threshold``, ``healthy-threshold`` - consecutive probes to flip a node (2, 1)
* ``health-checks`` - ``false`` sends to every node without probing

Modules: ``options`` (the settings), ``vips`` (VIP allocations, the durable state),
``health`` (node probes), ``loadbalancer`` (the adapter), ``cloud`` (engine ownership).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.port import ProviderContext

if TYPE_CHECKING:
    from providers.local.cloud import LocalCloud


def create(context: ProviderContext) -> LocalCloud:
    """Imported lazily so ``providers.local`` costs nothing until the cloud is used."""
    from providers.local.cloud import create as _create

    return _create(context)
