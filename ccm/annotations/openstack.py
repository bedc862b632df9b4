"""OpenStack (Octavia) annotations (``loadbalancer.openstack.org/``).

Semantics follow kubernetes/cloud-provider-openstack: a boolean or integer that does not
parse falls back to the cloud-config default with only a log line upstream; ccm keeps the
fallback and adds a warning. Malformed IDs are errors. Constants are named from the key
without ``loadbalancer.openstack.org/`` (``service.beta.kubernetes.io/openstack-`` for the
internal flag).
"""

from __future__ import annotations

from typing import Any

from ccm.annotations.common import maps_to_proxy_protocol
from ccm.annotations.registry import Annotation, declarer
from ccm.annotations.types import LABELS, UUID, Enum, Int, Str, TrueFalse

PREFIX = "loadbalancer.openstack.org/"
_os = declarer(PREFIX, "openstack")
_CONFIG = "cloud-config"
_BOOL = TrueFalse()
_NAME = Str(what="a name", sample="lb-zone-a", max_len=255)


def _int(suffix: str, parser: Int, doc: str, default_doc: str = _CONFIG, **kwargs: Any) -> Annotation:
    return _os(suffix, parser, on_invalid="warn", default_doc=default_doc, doc=doc, **kwargs)


INTERNAL_LOAD_BALANCER = declarer("service.beta.kubernetes.io/openstack-", "openstack")(
    "internal-load-balancer", _BOOL, on_invalid="warn", default_doc="cloud-config `internal-lb`",
    doc='`"true"`: no floating IP on the VIP. Ignored with event `LoadBalancerForcedInternal` when the cluster '
        "forces internal load balancers.",
    category="type",
)
FLOATING_NETWORK_ID = _os("floating-network-id", UUID, default_doc=_CONFIG, doc="Network of the floating IP.",
                          category="addresses", lb_types=("public",))
FLOATING_SUBNET = _os("floating-subnet", _NAME, doc="Subnet (by name) of the floating network.", category="addresses",
                      lb_types=("public",))
FLOATING_SUBNET_ID = _os(
    "floating-subnet-id", UUID, doc="Subnet of the floating network; wins over the name and tags.",
    category="addresses", lb_types=("public",),
)
FLOATING_SUBNET_TAGS = _os(
    "floating-subnet-tags", Str(what="comma-separated subnet tags", sample="lb-subnet"),
    doc="Subnet of the floating network, by tags.",
    category="addresses", lb_types=("public",),
)
CLASS = _os(
    "class", _NAME, doc="A floating-network class from cloud-config; overrides the network and subnet keys.",
    category="addresses",
)
SUBNET_ID = _os(
    "subnet-id", UUID, create_only=True, default_doc=_CONFIG,
    doc="VIP subnet. Create-only: Octavia cannot move a VIP.",
    category="addresses",
)
NETWORK_ID = _os(
    "network-id", UUID, create_only=True, default_doc=_CONFIG,
    doc="VIP network. Create-only: Octavia cannot move a VIP.",
    category="addresses",
)
PORT_ID = _os(
    "port-id", UUID, create_only=True,
    doc="Pre-created VIP port. Create-only: Octavia cannot move a VIP.",
    category="addresses",
)
MEMBER_SUBNET_ID = _os("member-subnet-id", UUID, default_doc="the VIP subnet", doc="Subnet of the pool members.", category="addresses")
CONNECTION_LIMIT = _int(
    "connection-limit", Int(min=-1), default_doc="-1 (unlimited)",
    doc="Listener connection limit; -1 means unlimited. Updated in place.",
    category="timeouts",
)
KEEP_FLOATINGIP = _os(
    "keep-floatingip", _BOOL, default=False, on_invalid="warn",
    doc='`"true"` keeps the floating IP when the Service is deleted.',
    category="addresses", lb_types=("public",),
)
PROXY_PROTOCOL = maps_to_proxy_protocol(_os(
    "proxy-protocol", Enum(("true", "v1", "v2")), on_invalid="warn", default_doc="off",
    doc="Pool protocol PROXY (`true`, `v1`) or PROXYV2 (`v2`); not with the OVN provider. The node proxy then "
        "accepts PROXY headers on the Service's node ports.",
    category="client-ip",
), enabled=lambda value: value in ("true", "v1", "v2"))
X_FORWARDED_FOR = _os(
    "x-forwarded-for", _BOOL, default=False, on_invalid="warn",
    doc='`"true"` makes an HTTP listener that adds X-Forwarded-For.',
    category="client-ip",
)
LB_METHOD = _os(
    "lb-method", Enum(("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT")), on_invalid="warn",
    default_doc=_CONFIG,
    doc="Pool algorithm; an unknown value keeps the default with event `LoadBalancerLbMethodUnknown`.",
    category="backends",
)
TIMEOUT_CLIENT_DATA = _int(
    "timeout-client-data", Int(min=0, unit="ms"), default_doc="50000", doc="Listener client inactivity timeout.",
    category="timeouts",
)
TIMEOUT_MEMBER_CONNECT = _int(
    "timeout-member-connect", Int(min=0, unit="ms"), default_doc="5000", doc="Listener member connect timeout.",
    category="timeouts",
)
TIMEOUT_MEMBER_DATA = _int(
    "timeout-member-data", Int(min=0, unit="ms"), default_doc="50000", doc="Listener member inactivity timeout.",
    category="timeouts",
)
TIMEOUT_TCP_INSPECT = _int(
    "timeout-tcp-inspect", Int(min=0, unit="ms"), default_doc="0",
    doc="Time to wait for more TCP packets for content inspection.",
    category="timeouts",
)
ENABLE_HEALTH_MONITOR = _os(
    "enable-health-monitor", _BOOL, on_invalid="warn", default_doc="cloud-config `create-monitor`",
    doc="Creates a health monitor per pool (required for `externalTrafficPolicy: Local`).",
    category="health",
)
HEALTH_MONITOR_DELAY = _int("health-monitor-delay", Int(min=1, unit="seconds"), doc="Seconds between two probes of a member.", category="health")
HEALTH_MONITOR_TIMEOUT = _int("health-monitor-timeout", Int(min=1, unit="seconds"), doc="Seconds a probe may take before it fails.", category="health")
HEALTH_MONITOR_MAX_RETRIES = _int(
    "health-monitor-max-retries", Int(1, 10), doc="Successes before a member is online.",
    category="health",
)
HEALTH_MONITOR_MAX_RETRIES_DOWN = _int(
    "health-monitor-max-retries-down", Int(1, 10), doc="Failures before a member is in error.",
    category="health",
)
FLAVOR_ID = _os(
    "flavor-id", UUID, create_only=True, default_doc=_CONFIG,
    doc="Octavia flavor. Create-only: a load balancer keeps its flavor.",
    category="type",
)
AVAILABILITY_ZONE = _os(
    "availability-zone", _NAME, create_only=True, default_doc=_CONFIG,
    doc="Octavia availability zone (event `LoadBalancerAvailabilityZonesIgnored` where unsupported). Create-only.",
    category="addresses",
)
DEFAULT_TLS_CONTAINER_REF = _os(
    "default-tls-container-ref", Str(pattern=r"https?://[^\x00-\x20\x7f]+", what="a Barbican container URL", sample="https://barbican.example.com:9311/v1/containers/6f1b5b3c-2d1e-4a7b-9c3d-0123456789ab"),
    doc="Barbican TLS container: listeners become TERMINATED_HTTPS.",
    category="listeners",
)
LOAD_BALANCER_ID = _os(
    "load-balancer-id", UUID, create_only=True, default_doc="written by the controller",
    doc="Existing load balancer to use or share; written back after creation and must not change.",
    category="tags",
)
HOSTNAME = _os(
    "hostname", Str(pattern=r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?", what="a hostname", sample="web.example.com", max_len=253),
    doc="Reported as `status.loadBalancer.ingress[0].hostname` instead of the IP.",
    category="addresses",
)
LOAD_BALANCER_ADDRESS = _os(
    "load-balancer-address", Str(what="an IP address", sample="10.0.1.10"),
    doc="Written by the controller (not read): the real address when `hostname` hides it.",
    category="addresses",
)
NODE_SELECTOR = _os(
    "node-selector", LABELS, default_doc=_CONFIG,
    doc="Only nodes with these labels (`k=v, k2`) become members; a key alone matches any value.",
    category="backends",
)
