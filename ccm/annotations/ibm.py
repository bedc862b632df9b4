"""IBM Cloud annotations (``service.kubernetes.io/ibm-load-balancer-cloud-provider-*``).

From IBM-Cloud/cloud-provider-ibm (``pkg/vpcctl``); ranges are the documented VPC load
balancer limits. Constants are named from the key without that prefix.
"""

from __future__ import annotations

from ccm.annotations.registry import declarer
from ccm.annotations.types import LABELS, Enum, Int, List, PortOrKeyword, Str

PREFIX = "service.kubernetes.io/ibm-load-balancer-cloud-provider-"
_ibm = declarer(PREFIX, "ibm")

IP_TYPE = _ibm(
    "ip-type", Enum(("public", "private")), default="public", create_only=True,
    doc="`private` makes a private load balancer (classic: portable private IP; VPC: private VPC load "
        "balancer). Create-only: a VPC load balancer cannot change between public and private.",
    category="type",
)
ENABLE_FEATURES = _ibm(
    "enable-features", List(Str(pattern=r"[a-z][a-z-]*", what="a feature name", sample="nlb")),
    doc="VPC load balancer features, e.g. `nlb` (network load balancer) or `proxy-protocol`.",
    category="type",
)
ZONE = _ibm("zone", Str(what="a zone name", sample="us-south-1"), doc="Zone of the load balancer's subnets or backends.", category="addresses")
VPC_SUBNETS = _ibm(
    "vpc-subnets", List(Str(what="a VPC subnet ID or name", sample="0717-a1b2c3d4")), create_only=True, default_doc="the cluster subnets",
    doc="Subnets of the VPC load balancer. Create-only: a VPC load balancer keeps its subnets.",
    category="addresses",
)
VPC_LB_NAME = _ibm(
    "vpc-lb-name", Str(pattern=r"[a-z]([-a-z0-9]*[a-z0-9])?", what="a VPC resource name", sample="web-lb", max_len=63),
    create_only=True, default_doc="generated",
    doc="Name of the VPC load balancer. Create-only.",
    category="tags",
)
VPC_NODE_SELECTOR = _ibm(
    "vpc-node-selector", LABELS, default_doc="all nodes",
    doc="Only nodes with these labels become backends.",
    category="backends",
)
VPC_HEALTH_CHECK_PROTOCOL = _ibm(
    "vpc-health-check-protocol", Enum(("http", "https", "tcp")), default_doc="tcp (Local: http)",
    doc="Health-check protocol of the VPC load balancer pools.",
    category="health",
)
VPC_HEALTH_CHECK_PORT = _ibm(
    "vpc-health-check-port", PortOrKeyword("traffic-port"), default_doc="the node port",
    doc="Port the health checks connect to.",
    category="health",
)
VPC_HEALTH_CHECK_PATH = _ibm(
    "vpc-health-check-path", Str(pattern=r"/[^\x00-\x20\x7f]*", what="a path starting with /", sample="/healthz"), default="/",
    doc="Path of HTTP(S) health checks.",
    category="health",
)
VPC_HEALTH_CHECK_DELAY = _ibm(
    "vpc-health-check-delay", Int(2, 60, unit="seconds"), default=5, doc="Seconds between health checks.",
    category="health",
)
VPC_HEALTH_CHECK_TIMEOUT = _ibm(
    "vpc-health-check-timeout", Int(1, 59, unit="seconds"), default=2,
    doc="Health-check timeout; must be less than the delay.",
    category="health",
)
VPC_HEALTH_CHECK_RETRIES = _ibm(
    "vpc-health-check-retries", Int(1, 10), default=2, doc="Failures before a backend is unhealthy.",
    category="health",
)
VPC_HEALTH_CHECK_UDP = _ibm(
    "vpc-health-check-udp", Enum(("http", "https", "tcp")), default="tcp",
    doc="Health-check protocol used for UDP ports.",
    category="health",
)
VPC_IDLE_CONNECTION_TIMEOUT = _ibm(
    "vpc-idle-connection-timeout", Int(50, 7200, unit="seconds"), default=50,
    doc="Idle connection timeout of the listeners.",
    category="timeouts",
)
VPC_PORT_RANGE = _ibm(
    "vpc-port-range", List(Str(pattern=r"[0-9]{1,5}-[0-9]{1,5}", what="a port range such as 30000-30100", sample="30000-30100")),
    doc="Port ranges served by network load balancer listeners.",
    category="listeners",
)
VPC_MEMBER_QUOTA = _ibm(
    "vpc-member-quota", Int(min=0), default_doc="the cloud default",
    doc="Maximum number of pool members (0 = no limit).",
    category="backends",
)
