"""Azure annotations (``service.beta.kubernetes.io/azure-*``).

Semantics follow kubernetes-sigs/cloud-provider-azure: a boolean is on only for the string
"true" (case-insensitive, except ``azure-load-balancer-internal``, which wants lower-case);
every other value is false without an error upstream, which ccm keeps but warns about. Numeric
limits that upstream enforces are errors here too. Constants are named from the key without
``service.beta.kubernetes.io/azure-``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from ccm.annotations.registry import Annotation, cross_check, declarer
from ccm.annotations.types import Cidr, Enum, Int, IPAddress, KeyValues, List, PortRef, Str, TrueFalse

PREFIX = "service.beta.kubernetes.io/azure-"
_az = declarer(PREFIX, "azure")

_BOOL = TrueFalse(case_insensitive=True)
_NAME = Str(pattern=r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?", what="an Azure resource name", sample="web-pip", max_len=80)
#: letters, digits, ``_ - . ( )`` (not ending with ``.``); non-ASCII characters are left to Azure
_RESOURCE_GROUP = Str(pattern=r"(?:[-0-9A-Za-z_.()]|[^\x00-\x7f]){0,89}(?:[-0-9A-Za-z_()]|[^\x00-\x7f])",
                      what="a resource group name", sample="net-rg", max_len=90)
_RESOURCE_ID = Str(pattern=r"/subscriptions/[^/]+/resourceGroups/[^\x00-\x20\x7f]+", what="an Azure resource ID (/subscriptions/...)", sample="/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/Microsoft.Network/publicIPPrefixes/web")
_PATH = r"/[^\x00-\x20\x7f]*"  # no spaces or control characters
_SUBSCRIPTION = Str(pattern=r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", what="a subscription ID", sample="00000000-0000-0000-0000-000000000000")
_TAGS = KeyValues(
    key=Str(pattern=r"[^<>%&\\?/]{1,512}", what="an Azure tag name (no < > % & \\ ? /)", sample="team", max_len=512),
    value=Str(what="an Azure tag value", sample="web", max_len=256, allow_empty=True),
)


def _flag(suffix: str, doc: str, parser: TrueFalse = _BOOL, **kwargs: Any) -> Annotation:
    """A "true"-only boolean, false by default; other values warn and mean false, as upstream."""
    return _az(suffix, parser, default=False, on_invalid="warn", doc=doc, **kwargs)


LOAD_BALANCER_INTERNAL = _flag(
    "load-balancer-internal", parser=TrueFalse(),
    doc='`"true"` (lower-case) puts the Service on the internal load balancer `<cluster>-internal` with a '
        "private frontend. Not create-only: upstream moves the frontend and cleans the other load balancer.",
    category="type",
)
LOAD_BALANCER_INTERNAL_SUBNET = _az(
    "load-balancer-internal-subnet", _NAME, default_doc="cloud-config subnet",
    doc="Subnet of the internal frontend; frontend and rule names then carry the subnet name.",
    category="addresses", lb_types=("internal",),
)
PIP_NAME = _az(
    "pip-name", _NAME, default_doc="generated `<cluster>-a<uid>`",
    doc="Use this existing public IP (it must exist; it is never deleted with the Service).",
    category="tags", lb_types=("public",),
)
PIP_NAME_IPV6 = _az(
    "pip-name-ipv6", _NAME, default_doc="generated",
    doc="IPv6 counterpart of `azure-pip-name`.",
    category="tags", lb_types=("public",),
)
LOAD_BALANCER_IPV4 = _az(
    "load-balancer-ipv4", IPAddress(4), default_doc="dynamic",
    doc="Frontend IPv4 address: a private IP (internal) or the public IP holding it; replaces "
        "`spec.loadBalancerIP`.",
    category="addresses",
)
LOAD_BALANCER_IPV6 = _az(
    "load-balancer-ipv6", IPAddress(6), default_doc="dynamic",
    doc="Frontend IPv6 address, as `azure-load-balancer-ipv4`.",
    category="addresses",
)
DNS_LABEL_NAME = _az(
    "dns-label-name",
    Str(pattern=r"[a-z][a-z0-9-]{1,61}[a-z0-9]", what="a DNS label (3-63 of a-z 0-9 -, letter first)", sample="my-web",
        allow_empty=True),
    doc="DNS label of the public IP (`<label>.<region>.cloudapp.azure.com`); an empty value removes it. An "
        "error if another Service owns the label.",
    category="tags", lb_types=("public",),
)
LOAD_BALANCER_RESOURCE_GROUP = _az(
    "load-balancer-resource-group", _RESOURCE_GROUP, default_doc="the load balancer's resource group",
    doc="Resource group where public IPs are looked up and created.",
    category="addresses",
)
PIP_PREFIX_ID = _az(
    "pip-prefix-id", _RESOURCE_ID,
    doc="Public IP prefix to allocate the IPv4 public IP from.",
    category="addresses", lb_types=("public",),
)
PIP_PREFIX_ID_IPV6 = _az(
    "pip-prefix-id-ipv6", _RESOURCE_ID,
    doc="Public IP prefix to allocate the IPv6 public IP from.",
    category="addresses", lb_types=("public",),
)
PIP_TAGS = _az(
    "pip-tags", _TAGS, default=MappingProxyType({}), default_doc="none",
    doc="Extra tags on the public IP (`a=b,c=d`); tags removed from the list stay on the IP, as upstream.",
    category="tags", lb_types=("public",),
)
PIP_IP_TAGS = _az(
    "pip-ip-tags", KeyValues(key_only=False), default=MappingProxyType({}), default_doc="none",
    doc="IP tags of the public IP, e.g. `RoutingPreference=Internet`.",
    category="tags", lb_types=("public",),
)
LOAD_BALANCER_TCP_IDLE_TIMEOUT = _az(
    "load-balancer-tcp-idle-timeout", Int(4, 100, unit="minutes"), default=4,
    doc="TCP idle timeout of every rule in minutes (4-100; out of range is an error, as upstream).",
    category="timeouts",
)
LOAD_BALANCER_DISABLE_TCP_RESET = _flag(
    "load-balancer-disable-tcp-reset",
    doc='`"true"` turns off TCP reset on idle timeout (on by default for Standard SKU TCP rules).',
    category="timeouts",
)
DISABLE_LOAD_BALANCER_FLOATING_IP = _flag(
    "disable-load-balancer-floating-ip",
    doc='`"true"` disables floating IP: rules target the node ports and NSG rules the node IPs.',
    category="backends",
)
LOAD_BALANCER_HEALTH_PROBE_PROTOCOL = _az(
    "load-balancer-health-probe-protocol", Enum(("Tcp", "Http", "Https"), case_insensitive=True),
    on_invalid="warn", default_doc="Tcp (or the port's appProtocol)",
    doc="Probe protocol; an unknown value means Tcp, as upstream (ccm warns). Per-port annotations and "
        "`appProtocol` take precedence.",
    category="health",
)
LOAD_BALANCER_HEALTH_PROBE_REQUEST_PATH = _az(
    "load-balancer-health-probe-request-path", Str(pattern=_PATH, what="a path starting with /", sample="/healthz"),
    default="/",
    doc="Path of HTTP(S) probes.",
    category="health",
)
LOAD_BALANCER_HEALTH_PROBE_INTERVAL = _az(
    "load-balancer-health-probe-interval", Int(min=5, unit="seconds"), default=5,
    doc="Seconds between probes (at least 5; interval x num-of-probe must stay below 120).",
    category="health",
)
LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE = _az(
    "load-balancer-health-probe-num-of-probe", Int(min=2), default=2,
    doc="Failed probes before a node is taken out (at least 2).",
    category="health",
)
LOAD_BALANCER_ENABLE_HIGH_AVAILABILITY_PORTS = _flag(
    "load-balancer-enable-high-availability-ports",
    doc='`"true"` makes one HA-ports rule (all protocols and ports); internal Standard load balancers only.',
    category="listeners", lb_types=("internal",),
)
ALLOWED_SERVICE_TAGS = _az(
    "allowed-service-tags", List(Str(pattern=r"[A-Za-z][0-9A-Za-z_.]*", what="an Azure service tag", sample="AzureFrontDoor.Backend")),
    doc="Service tags (e.g. `AzureFrontDoor.Backend`) allowed by NSG rules.",
    category="security",
)
ALLOWED_IP_RANGES = _az(
    "allowed-ip-ranges", List(Cidr()),
    doc="CIDRs allowed by NSG rules; an error together with `spec.loadBalancerSourceRanges`. Upstream answers "
        "an invalid CIDR with a deny-all rule and a Warning event; ccm makes it an error, leaving the load "
        "balancer unchanged (also fail-closed).",
    category="security",
)
DENY_ALL_EXCEPT_LOAD_BALANCER_SOURCE_RANGES = _flag(
    "deny-all-except-load-balancer-source-ranges",
    doc='`"true"` adds a deny-all rule so only the source ranges reach the IP (VNet traffic is otherwise '
        "allowed by NSG rule 65000).",
    category="security",
)
DISABLE_LOAD_BALANCER_NSG_RULE = _flag(
    "disable-load-balancer-nsg-rule",
    doc='`"true"`: the controller leaves NSG rules of this Service alone.',
    category="security",
)
ADDITIONAL_PUBLIC_IPS = _az(
    "additional-public-ips", List(IPAddress()),
    doc="Extra IPs reported in the Service status and allowed as NSG destinations (not configured on the load "
        "balancer).",
    category="addresses", lb_types=("public",),
)
LOAD_BALANCER_MODE = _az(
    "load-balancer-mode", List(Str(what="a VM set name or __auto__", sample="__auto__")), default_doc="the primary VM set",
    doc="Basic SKU / multiple VM sets: `__auto__` or the VM set names whose load balancer to use.",
    category="type",
)
LOAD_BALANCER_CONFIGURATIONS = _az(
    "load-balancer-configurations", List(_NAME),
    doc="Multiple standard load balancers: the eligible load balancer configurations; an error when it "
        "conflicts with a pinned IP.",
    category="type",
)
PLS_CREATE = _flag(
    "pls-create", doc='`"true"` creates a Private Link Service on the Service\'s frontend.',
    category="private-link", lb_types=("internal",),
)
PLS_NAME = _az("pls-name", _NAME, default_doc="generated", doc="Name of the Private Link Service.", category="private-link", lb_types=("internal",))
PLS_RESOURCE_GROUP = _az(
    "pls-resource-group", _RESOURCE_GROUP, default_doc="the load balancer's resource group",
    doc="Resource group of the Private Link Service.",
    category="private-link", lb_types=("internal",),
)
PLS_IP_CONFIGURATION_SUBNET = _az(
    "pls-ip-configuration-subnet", _NAME, default_doc="the frontend subnet",
    doc="Subnet of the Private Link Service's NAT IPs.",
    category="private-link", lb_types=("internal",),
)
PLS_IP_CONFIGURATION_IP_ADDRESS_COUNT = _az(
    "pls-ip-configuration-ip-address-count", Int(1, 8), default=1,
    doc="Number of NAT IPs of the Private Link Service (1-8).",
    category="private-link", lb_types=("internal",),
)
PLS_IP_CONFIGURATION_IP_ADDRESS = _az(
    "pls-ip-configuration-ip-address", List(IPAddress()), default_doc="dynamic",
    doc="Static NAT IPs of the Private Link Service (at most the count).",
    category="private-link", lb_types=("internal",),
)
PLS_FQDNS = _az("pls-fqdns", List(Str(what="an FQDN", sample="web.example.com")), doc="FQDNs of the Private Link Service.", category="private-link", lb_types=("internal",))
PLS_PROXY_PROTOCOL = _flag(
    "pls-proxy-protocol", doc='`"true"` enables TCP PROXY protocol v2 on the Private Link Service.',
    category="private-link", lb_types=("internal",),
)
PLS_VISIBILITY = _az(
    "pls-visibility", List(Str(pattern=r"\*|[0-9a-fA-F-]{36}", what="a subscription ID or *", sample="*")),
    default_doc="none",
    doc="Subscriptions that can see the Private Link Service; `*` for all.",
    category="private-link", lb_types=("internal",),
)
PLS_AUTO_APPROVAL = _az(
    "pls-auto-approval", List(_SUBSCRIPTION),
    doc="Subscriptions whose connections are approved automatically.",
    category="private-link", lb_types=("internal",),
)
SHARED_SECURITYRULE = _flag(
    "shared-securityrule",
    doc="Documented upstream but no longer in its code: accepted and ignored.",
    category="security",
)


# --- per-port overrides: service.beta.kubernetes.io/port_{port}_... (port = the Service port) ---

_port = declarer("service.beta.kubernetes.io/port_{port}_", "azure")

PORT_HEALTH_PROBE_PROTOCOL = _port(
    "health-probe_protocol", Enum(("Tcp", "Http", "Https"), case_insensitive=True), on_invalid="warn",
    default_doc="`azure-load-balancer-health-probe-protocol`",
    doc="Probe protocol for this Service port; wins over `appProtocol` and the Service-wide annotation.",
    category="health",
)
PORT_HEALTH_PROBE_PORT = _port(
    "health-probe_port", PortRef(), default_doc="the port's node port",
    doc="Probe port for this Service port: a number, or a Service port name meaning that port's node port.",
    category="health",
)
PORT_HEALTH_PROBE_INTERVAL = _port(
    "health-probe_interval", Int(min=5, unit="seconds"), default_doc="`azure-load-balancer-health-probe-interval`",
    doc="Probe interval for this Service port (at least 5 seconds).",
    category="health",
)
PORT_HEALTH_PROBE_NUM_OF_PROBE = _port(
    "health-probe_num-of-probe", Int(min=2), default_doc="`azure-load-balancer-health-probe-num-of-probe`",
    doc="Failed probes before the node is taken out, for this Service port (at least 2).",
    category="health",
)
PORT_HEALTH_PROBE_REQUEST_PATH = _port(
    "health-probe_request-path", Str(pattern=_PATH, what="a path starting with /", sample="/healthz"),
    default_doc="`azure-load-balancer-health-probe-request-path`",
    doc="Path of HTTP(S) probes for this Service port.",
    category="health",
)
PORT_NO_LB_RULE = _port(
    "no_lb_rule", _BOOL, default=False, on_invalid="warn",
    doc='`"true"`: no load-balancing rule and no probe for this Service port.',
    category="listeners",
)
PORT_NO_PROBE_RULE = _port(
    "no_probe_rule", _BOOL, default=False, on_invalid="warn",
    doc='`"true"`: a rule without a probe for this Service port.',
    category="health",
)


def _probe_window(value_of: Callable[[str], Any]) -> str | None:
    interval = value_of(LOAD_BALANCER_HEALTH_PROBE_INTERVAL.key)
    count = value_of(LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE.key)
    if interval * count >= 120:
        return f"health-probe interval x num-of-probe ({interval} x {count}) must be less than 120 seconds"
    return None


cross_check(
    LOAD_BALANCER_HEALTH_PROBE_INTERVAL, LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE,
    check=_probe_window, when_all_set=False,
    doc="`health-probe-interval` x `health-probe-num-of-probe` must be below 120 seconds (defaults 5 and 2 fill "
        "in an absent one), as upstream.",
    cel="{0} < 120 && {1} < 120 && {0} * {1} < 120",  # no int64 overflow: both are at least 2
)
