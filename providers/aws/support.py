"""Which AWS annotations this adapter implements (the controller refuses the rest before any call).

Read by the controller through ``AwsCloud.annotation_support()`` and by ``ccm annotations`` for
the docs. Keys of the AWS Load Balancer Controller are honoured where the instance-target,
node-port design builds exactly what they ask (``nlb-target-type: instance``), and refused with
a Warning event where it cannot (``nlb-target-type: ip``). Restrictions by load-balancer type
(an NLB-only key on a Classic ELB) are checked by ``settings.check_settings``, also before any
call.
"""

from __future__ import annotations

from ccm.annotations import aws as ann
from ccm.annotations import common
from ccm.annotations.support import FULLY, AnnotationSupport, Honoured

SUPPORT = AnnotationSupport.of(
    {
        common.LOAD_BALANCER_SOURCE_RANGES: FULLY,
        ann.TYPE: Honoured(values=frozenset({"nlb"}), note="absent builds a Classic ELB"),
        ann.INTERNAL: FULLY,
        ann.SSL_CERT: FULLY,
        ann.SSL_PORTS: FULLY,
        ann.BACKEND_PROTOCOL: FULLY,
        ann.SSL_NEGOTIATION_POLICY: FULLY,
        ann.PROXY_PROTOCOL: FULLY,
        ann.ACCESS_LOG_ENABLED: FULLY,
        ann.ACCESS_LOG_EMIT_INTERVAL: FULLY,
        ann.ACCESS_LOG_S3_BUCKET_NAME: FULLY,
        ann.ACCESS_LOG_S3_BUCKET_PREFIX: FULLY,
        ann.CONNECTION_DRAINING_ENABLED: FULLY,
        ann.CONNECTION_DRAINING_TIMEOUT: FULLY,
        ann.CONNECTION_IDLE_TIMEOUT: FULLY,
        ann.CROSS_ZONE_LOAD_BALANCING_ENABLED: FULLY,
        ann.ADDITIONAL_RESOURCE_TAGS: FULLY,
        ann.SECURITY_GROUPS: FULLY,
        ann.EXTRA_SECURITY_GROUPS: FULLY,
        ann.HEALTHCHECK_HEALTHY_THRESHOLD: FULLY,
        ann.HEALTHCHECK_UNHEALTHY_THRESHOLD: FULLY,
        ann.HEALTHCHECK_INTERVAL: FULLY,
        ann.HEALTHCHECK_TIMEOUT: FULLY,
        ann.HEALTHCHECK_PROTOCOL: FULLY,
        ann.HEALTHCHECK_PORT: FULLY,
        ann.HEALTHCHECK_PATH: FULLY,
        ann.TARGET_NODE_LABELS: FULLY,
        ann.SUBNETS: FULLY,
        ann.EIP_ALLOCATIONS: FULLY,
        ann.PRIVATE_IPV4_ADDRESSES: FULLY,
        ann.TARGET_GROUP_ATTRIBUTES: FULLY,
        # AWS Load Balancer Controller keys whose value describes what ccm builds anyway
        ann.NLB_TARGET_TYPE: Honoured(values=frozenset({"instance"}),
                                      note="targets are node ports; `ip` needs pod IPs reachable from the VPC"),
        ann.IP_ADDRESS_TYPE: Honoured(values=frozenset({"ipv4"}), note="dual-stack NLBs are not built"),
        ann.MANAGE_BACKEND_SECURITY_GROUP_RULES: Honoured(values=frozenset({True}),
                                                          note="node security-group rules are always managed"),
        ann.DISABLE_NLB_SG: Honoured(values=frozenset({True}), note="NLBs get no frontend security group"),
        ann.ENABLE_ICMP_FOR_PATH_MTU_DISCOVERY: FULLY,
        ann.MULTI_CLUSTER_TARGET_GROUP: Honoured(values=frozenset({False}),
                                                 note="target groups belong to one cluster"),
        ann.ENABLE_TCP_UDP_LISTENER: Honoured(values=frozenset({True}),
                                              note="TCP and UDP on one port always share a TCP_UDP listener"),
    },
    handed_off={ann.TYPE: ("external", "nlb-ip")},
)
