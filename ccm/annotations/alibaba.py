"""Alibaba Cloud annotations (``service.beta.kubernetes.io/alibaba-cloud-loadbalancer-*``).

From kubernetes/cloud-provider-alibaba-cloud (``reconcile/annotation``). Every key is also
accepted under the legacy ``alicloud-loadbalancer-`` prefix, declared as an alias. Constants
are named from the key without the prefix.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ccm.annotations.registry import Annotation, declarer
from ccm.annotations.types import LABELS, Enum, Int, KeyValues, List, Str, TrueFalse

PREFIX = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"
LEGACY_PREFIX = "service.beta.kubernetes.io/alicloud-loadbalancer-"
_declare = declarer(PREFIX, "alibaba")
_ON_OFF = Enum(("on", "off"))


def _ali(suffix: str, parser: Any, **kwargs: Any) -> Annotation:
    return _declare(suffix, parser, aliases=(LEGACY_PREFIX + suffix,), **kwargs)


ADDRESS_TYPE = _ali(
    "address-type", Enum(("internet", "intranet")), default="internet", create_only=True,
    doc="`intranet` gives a private VIP in the vSwitch (`vswitch-id`). Create-only: a CLB keeps its address "
        "type.",
    category="type",
)
VSWITCH_ID = _ali(
    "vswitch-id", Str(pattern=r"vsw-[0-9a-z]+", what="a vSwitch ID (vsw-...)", sample="vsw-0abc123"), create_only=True,
    doc="vSwitch of an intranet load balancer. Create-only.",
    category="addresses",
)
ID = _ali(
    "id", Str(pattern=r"lb-[0-9a-z]+", what="a load balancer ID (lb-...)", sample="lb-0abc123"),
    doc="Reuse this existing load balancer.",
    category="other",
)
SPEC = _ali(
    "spec", Str(pattern=r"slb\.[a-z0-9.]+", what="a CLB spec such as slb.s1.small", sample="slb.s1.small"), default="slb.s1.small",
    doc="Instance spec of the load balancer.",
    category="type",
)
CHARGE_TYPE = _ali(
    "charge-type", Enum(("paybytraffic", "paybybandwidth")), default="paybytraffic",
    doc="Billing mode; `paybybandwidth` uses `bandwidth`.",
    category="type",
)
BANDWIDTH = _ali(
    "bandwidth", Int(1, 5120, unit="Mbps"), default_doc="the cloud default",
    doc="Bandwidth cap in Mbps for `paybybandwidth`.",
    category="type",
)
CERT_ID = _ali("cert-id", Str(what="a certificate ID", sample="1234567890123456_abcdef"), doc="Certificate of the HTTPS listeners.", category="listeners")
PROTOCOL_PORT = _ali(
    "protocol-port", List(Str(pattern=r"(http|https|tcp|udp):[0-9]{1,5}", what="protocol:port such as https:443", sample="https:443")),
    doc="Listener protocol per Service port, e.g. `https:443,http:80`.",
    category="listeners",
)
HEALTH_CHECK_FLAG = _ali(
    "health-check-flag", _ON_OFF, default_doc="on (TCP)", doc="Health checks of HTTP/HTTPS listeners.",
    category="health",
)
HEALTH_CHECK_TYPE = _ali(
    "health-check-type", Enum(("tcp", "http")), default="tcp", doc="Health-check type of TCP listeners.",
    category="health",
)
HEALTH_CHECK_URI = _ali(
    "health-check-uri", Str(pattern=r"/[^\x00-\x20\x7f]*", what="a path starting with /", sample="/healthz", max_len=80),
    doc="Path of HTTP health checks.",
    category="health",
)
HEALTH_CHECK_CONNECT_PORT = _ali(
    "health-check-connect-port", Int(1, 65535), default_doc="the backend port", doc="Port the health checks connect to.",
    category="health",
)
HEALTHY_THRESHOLD = _ali(
    "healthy-threshold", Int(2, 10), default=3, doc="Successes before a backend is healthy.",
    category="health",
)
UNHEALTHY_THRESHOLD = _ali(
    "unhealthy-threshold", Int(2, 10), default=3, doc="Failures before a backend is unhealthy.",
    category="health",
)
HEALTH_CHECK_INTERVAL = _ali(
    "health-check-interval", Int(1, 50, unit="seconds"), default=2, doc="Seconds between health checks.",
    category="health",
)
HEALTH_CHECK_CONNECT_TIMEOUT = _ali(
    "health-check-connect-timeout", Int(1, 300, unit="seconds"), default=5, doc="Seconds a TCP health check may take.",
    category="health",
)
HEALTH_CHECK_TIMEOUT = _ali(
    "health-check-timeout", Int(1, 300, unit="seconds"), default=5, doc="Seconds an HTTP health check may take.",
    category="health",
)
HEALTH_CHECK_DOMAIN = _ali(
    "health-check-domain", Str(what="a domain name", sample="web.example.com"), doc="Host header of HTTP health checks.",
    category="health",
)
HEALTH_CHECK_HTTPCODE = _ali(
    "health-check-httpcode",
    List(Enum(("http_2xx", "http_3xx", "http_4xx", "http_5xx"))), default=("http_2xx",),
    doc="HTTP codes counted as healthy.",
    category="health",
)
ACL_STATUS = _ali("acl-status", _ON_OFF, default="off", doc="Enables the access control list.", category="security")
ACL_ID = _ali("acl-id", Str(pattern=r"acl-[0-9a-z]+", what="an ACL ID (acl-...)", sample="acl-0abc123"), doc="Access control list of the listeners, used with `acl-status: on`.", category="security")
ACL_TYPE = _ali(
    "acl-type", Enum(("white", "black")), doc="Whether the ACL is an allow list (`white`) or a deny list.",
    category="security",
)
SCHEDULER = _ali(
    "scheduler", Enum(("rr", "wrr", "wlc", "sch", "tch", "qch")), default="rr", doc="Scheduling algorithm of the listeners (`rr` round robin, `wrr` weighted, ...).",
    category="backends",
)
BACKEND_LABEL = _ali(
    "backend-label", LABELS, default_doc="all nodes", doc="Only nodes with these labels become backends.",
    category="backends",
)
FORCE_OVERRIDE_LISTENERS = _ali(
    "force-override-listeners", TrueFalse(), default=False,
    doc='`"true"` lets the controller overwrite the listeners of a reused load balancer.',
    category="listeners",
)
ADDITIONAL_RESOURCE_TAGS = _ali(
    "additional-resource-tags", KeyValues(reserved_prefix="aliyun"), default=MappingProxyType({}),
    default_doc="none", doc="Extra tags on the load balancer.",
    category="tags",
)
DELETE_PROTECTION = _ali(
    "delete-protection", _ON_OFF, default="on", doc="Deletion protection of the load balancer.",
    category="other",
)
IP_VERSION = _ali(
    "ip-version", Enum(("ipv4", "ipv6")), default="ipv4", create_only=True,
    doc="IP version of the load balancer. Create-only.",
    category="type",
)
