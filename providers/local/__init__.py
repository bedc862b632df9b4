"""The ``local`` cloud: real load balancers on this machine, no privileges needed.

Options (``ProviderContext.options``; all optional):

* ``vip-pool`` - IPv4 CIDR the VIPs come from (default ``127.0.2.0/24``)
* ``state-file`` - JSON file holding VIP allocations (default: a private directory per user and
  cluster name, under ``$XDG_RUNTIME_DIR`` or the temp dir; see ``options``)
* ``node-health-port`` - the node proxy's ``/healthz`` port, probed for Cluster policy (10256)
* ``health-interval``, ``health-timeout`` - seconds (1, 1)
* ``unhealthy-threshold``, ``healthy-threshold`` - consecutive probes to flip a node (2, 1)
* ``health-checks`` - ``false`` sends to every node without probing
* ``instances-file`` - a JSON inventory of machines for the node controllers (see ``instances``;
  default: a node is a running machine when its InternalIP is an address of this host)

Node proxies behind local load balancers believe PROXY headers from the VIP pool only:
``--proxy-protocol-trusted-cidrs`` is ``options.proxy_protocol_sources(vip_pool)`` (the demo
wires it so).

Modules: ``options`` (the settings), ``vips`` (VIP allocations, the durable state),
``statedir`` (its private directory), ``health`` (node probes), ``loadbalancer`` (the adapter),
``instances`` (the machines behind Nodes), ``cloud`` (engine ownership).
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
