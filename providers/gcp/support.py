"""Which GCP annotations this adapter implements (the controller refuses the rest before any call).

Read by the controller through ``GcpCloud.annotation_support()`` and by ``ccm annotations`` for
the docs. GKE-only keys that only matter to L7 (NEGs, BackendConfig, app protocols) have no
effect on a passthrough load balancer on GKE either, so they are honoured as "no effect";
GKE-only L4 features this adapter does not build are refused with a Warning event.
"""

from __future__ import annotations

from ccm.annotations import common
from ccm.annotations import gcp as ann
from ccm.annotations.support import FULLY, AnnotationSupport, Honoured

_NO_L4_EFFECT = Honoured(note="an L7 setting; no effect on a passthrough load balancer (as on GKE)")

SUPPORT = AnnotationSupport.of(
    {
        common.LOAD_BALANCER_SOURCE_RANGES: FULLY,
        ann.LOAD_BALANCER_TYPE: FULLY,
        ann.INTERNAL_LOAD_BALANCER_ALLOW_GLOBAL_ACCESS: FULLY,
        ann.INTERNAL_LOAD_BALANCER_SUBNET: FULLY,
        ann.LOAD_BALANCER_SUBNET: Honoured(note="the subnet of an internal load balancer; an external IPv4 one "
                                                "has none"),
        ann.NETWORK_TIER: FULLY,
        ann.L4_RBS: FULLY,
        ann.LOAD_BALANCER_BACKEND_SHARE: Honoured(values=frozenset({False}),
                                                  note="every Service gets its own backend service"),
        ann.TARGET_POOL: Honoured(note="written by upstream, ignored when read (as upstream)"),
        ann.BACKEND_SERVICE: Honoured(note="written by upstream, ignored when read (as upstream)"),
        ann.TRANSPARENT_HEALTH_CHECKER: Honoured(values=frozenset({False}),
                                                 note="health checks probe kube-proxy's or the Service's port"),
        ann.NEG: _NO_L4_EFFECT,
        ann.BACKEND_CONFIG: _NO_L4_EFFECT,
        ann.APP_PROTOCOLS: _NO_L4_EFFECT,
    },
    handed_off={ann.L4_RBS: ("enabled",)},
)
