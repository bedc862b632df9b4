"""OpenStack: Octavia load balancers with openstacksdk (Keystone for auth, Neutron for floating IPs).

Follows cloud-provider-openstack; deviations are documented where they are made and in README.md.
Layout: ``config`` reads cloud.conf, ``settings`` the annotations, ``support`` declares which are
implemented, ``clients`` holds the connection (endpoints from the Keystone catalog) and the error
mapping, ``world`` the reads and waits, ``desired`` and ``plan`` are pure, ``apply`` is the only
module that sends a mutating call, ``loadbalancer`` runs observe -> desired -> plan -> apply,
``planning``, ``inventory`` and ``instances`` are the optional capabilities, ``cloud`` ties them.

``ProviderContext.options``: cloud.conf's ``[Global]`` and ``[LoadBalancer]`` keys (``auth-url``,
``subnet-id``...) and its ``[LoadBalancerClass "x"]`` keys as ``loadbalancerclass.x.<key>``, as
:func:`parse_cloud_config` returns them (``--cloud-config``), and ccm's own
``openstack-lb-wait-initial``, ``openstack-lb-wait-max-interval``, ``openstack-lb-wait-timeout``
(seconds; polling Octavia jobs: at once, then from the initial interval x1.5 up to the maximum,
1 / 10 / 300 by default). Any other option is an error naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.port import ProviderContext

if TYPE_CHECKING:
    from providers.openstack.cloud import OpenStackCloud

annotation_provider = "openstack"


def parse_cloud_config(text: str, source: str) -> dict[str, str]:
    """``--cloud-config``: cloud.conf (gcfg) as provider options; an unknown section or key is an error naming it.

    Read by ``providers.cloudconfig`` for ``--cloud-provider openstack``. Costs no openstacksdk import.
    """
    from providers.openstack import config

    return config.parse_cloud_config(text, source)


def create(context: ProviderContext) -> OpenStackCloud:
    """Imported lazily so ``providers.openstack.support`` (read by ``ccm annotations``) costs no openstacksdk."""
    from providers.openstack.cloud import OpenStackCloud

    return OpenStackCloud(context)
