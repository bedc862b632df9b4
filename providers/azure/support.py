"""Which Azure annotations this adapter implements (the controller refuses the rest before any call).

Refused (a Warning event naming key and value, and no cloud call): IPv6 frontends
(``pip-name-ipv6``, ``load-balancer-ipv6``, ``pip-prefix-id-ipv6``), public IP prefixes,
Private Link Services (``pls-*``), and the multiple-load-balancer selectors (``load-balancer-mode``,
``load-balancer-configurations``): this adapter builds the one shared Standard load balancer pair.
"""

from __future__ import annotations

from ccm.annotations import azure as ann
from ccm.annotations import common
from ccm.annotations.support import FULLY, AnnotationSupport, Honoured

SUPPORT = AnnotationSupport.of(
    {
        common.LOAD_BALANCER_SOURCE_RANGES: FULLY,
        ann.LOAD_BALANCER_INTERNAL: FULLY,
        ann.LOAD_BALANCER_INTERNAL_SUBNET: FULLY,
        ann.PIP_NAME: FULLY,
        ann.LOAD_BALANCER_IPV4: FULLY,
        ann.DNS_LABEL_NAME: FULLY,
        ann.LOAD_BALANCER_RESOURCE_GROUP: FULLY,
        ann.PIP_TAGS: FULLY,
        ann.PIP_IP_TAGS: FULLY,
        ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT: FULLY,
        ann.LOAD_BALANCER_DISABLE_TCP_RESET: FULLY,
        ann.DISABLE_LOAD_BALANCER_FLOATING_IP: FULLY,
        ann.LOAD_BALANCER_HEALTH_PROBE_PROTOCOL: FULLY,
        ann.LOAD_BALANCER_HEALTH_PROBE_REQUEST_PATH: FULLY,
        ann.LOAD_BALANCER_HEALTH_PROBE_INTERVAL: FULLY,
        ann.LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE: FULLY,
        ann.LOAD_BALANCER_ENABLE_HIGH_AVAILABILITY_PORTS: FULLY,
        ann.ALLOWED_SERVICE_TAGS: FULLY,
        ann.ALLOWED_IP_RANGES: FULLY,
        ann.DENY_ALL_EXCEPT_LOAD_BALANCER_SOURCE_RANGES: FULLY,
        ann.DISABLE_LOAD_BALANCER_NSG_RULE: FULLY,
        ann.ADDITIONAL_PUBLIC_IPS: FULLY,
        ann.SHARED_SECURITYRULE: Honoured(note="a no-op, as upstream (its code no longer reads it)"),
        ann.PORT_HEALTH_PROBE_PROTOCOL: FULLY,
        ann.PORT_HEALTH_PROBE_PORT: FULLY,
        ann.PORT_HEALTH_PROBE_INTERVAL: FULLY,
        ann.PORT_HEALTH_PROBE_NUM_OF_PROBE: FULLY,
        ann.PORT_HEALTH_PROBE_REQUEST_PATH: FULLY,
        ann.PORT_NO_LB_RULE: FULLY,
        ann.PORT_NO_PROBE_RULE: FULLY,
    },
)
