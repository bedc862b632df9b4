"""Which OpenStack annotations this adapter implements (the controller refuses the rest before any call).

Read by the controller through ``OpenStackCloud.annotation_support()`` and by ``ccm annotations`` for
the docs. Every key of ``ccm.annotations.openstack`` is listed: all are built as upstream builds
them, except sharing another load balancer through ``load-balancer-id`` (which ccm accepts only
when it names this Service's own load balancer, as cloud-provider-openstack writes it back).
"""

from __future__ import annotations

from ccm.annotations import common
from ccm.annotations import openstack as ann
from ccm.annotations.support import FULLY, AnnotationSupport, Honoured

SUPPORT = AnnotationSupport.of({
    common.LOAD_BALANCER_SOURCE_RANGES: FULLY,
    ann.INTERNAL_LOAD_BALANCER: FULLY,
    ann.FLOATING_NETWORK_ID: FULLY,
    ann.FLOATING_SUBNET: Honoured(note="an exact subnet name (upstream's glob, regex and ! forms are not read)"),
    ann.FLOATING_SUBNET_ID: FULLY,
    ann.FLOATING_SUBNET_TAGS: FULLY,
    ann.CLASS: FULLY,
    ann.SUBNET_ID: FULLY,
    ann.NETWORK_ID: FULLY,
    ann.PORT_ID: FULLY,
    ann.MEMBER_SUBNET_ID: FULLY,
    ann.CONNECTION_LIMIT: FULLY,
    ann.KEEP_FLOATINGIP: FULLY,
    ann.PROXY_PROTOCOL: FULLY,
    ann.X_FORWARDED_FOR: FULLY,
    ann.LB_METHOD: FULLY,
    ann.TIMEOUT_CLIENT_DATA: FULLY,
    ann.TIMEOUT_MEMBER_CONNECT: FULLY,
    ann.TIMEOUT_MEMBER_DATA: FULLY,
    ann.TIMEOUT_TCP_INSPECT: FULLY,
    ann.ENABLE_HEALTH_MONITOR: FULLY,
    ann.HEALTH_MONITOR_DELAY: FULLY,
    ann.HEALTH_MONITOR_TIMEOUT: FULLY,
    ann.HEALTH_MONITOR_MAX_RETRIES: FULLY,
    ann.HEALTH_MONITOR_MAX_RETRIES_DOWN: FULLY,
    ann.FLAVOR_ID: FULLY,
    ann.AVAILABILITY_ZONE: FULLY,
    ann.DEFAULT_TLS_CONTAINER_REF: FULLY,
    ann.LOAD_BALANCER_ID: Honoured(note="only this Service's own load balancer; sharing one is refused"),
    ann.HOSTNAME: FULLY,
    ann.LOAD_BALANCER_ADDRESS: Honoured(note="written by upstream's controller, not read; ccm reports the address "
                                             "in status"),
    ann.NODE_SELECTOR: FULLY,
})
