"""AWS annotations (``service.beta.kubernetes.io/aws-load-balancer-*``).

Semantics follow kubernetes/cloud-provider-aws (Classic ELB and NLB): booleans are Go
``ParseBool``, ints are ``Atoi``, and a bad value is an error that blocks the Service, as
upstream. Keys marked LBC belong to the AWS Load Balancer Controller; ccm parses and
documents them so a typo is caught, but cloud-provider-aws does not act on them.

Constants are named from the key without ``service.beta.kubernetes.io/aws-load-balancer-``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from ccm.annotations.common import maps_to_proxy_protocol
from ccm.annotations.registry import cross_check, declarer
from ccm.annotations.types import (
    LABELS,
    Enum,
    GoBool,
    Int,
    IPAddress,
    KeyValues,
    List,
    NotFalse,
    PortList,
    PortOrKeyword,
    Str,
)

PREFIX = "service.beta.kubernetes.io/aws-load-balancer-"
_up = declarer(PREFIX, "aws")
_lbc = declarer(PREFIX, "aws", upstream="LBC")

#: AWS tag keys and values: ASCII letters, digits, spaces and ``_ . : / + - @`` (``=``/``,`` separate items);
#: non-ASCII characters are left to AWS, which accepts Unicode letters and digits
_TAG_CHARS = r"(?:[0-9A-Za-z_ .:/+@-]|[^\x00-\x7f])"
_TAGS = KeyValues(
    key=Str(pattern=f"{_TAG_CHARS}{{1,128}}", what="an AWS tag key (1-128 letters, digits, spaces, _.:/+-@)", sample="team"),
    value=Str(pattern=f"{_TAG_CHARS}{{0,256}}", what="an AWS tag value (0-256 letters, digits, spaces, _.:/+-@)", sample="web",
              allow_empty=True),
    reserved_prefix="aws:",
)
_PATH = r"/[^\x00-\x20\x7f]*"  # no spaces or control characters
_SG_IDS = List(Str(pattern=r"sg-[0-9a-f]+", what="a security-group ID (sg-...)", sample="sg-0123456789abcdef0"))
_HC_THRESHOLD = Int(2, 10)

TYPE = _up(
    "type", Enum(("nlb", "external", "nlb-ip")), on_invalid="warn", create_only=True,
    default_doc="Classic ELB",
    doc="`nlb` builds a Network Load Balancer; `external` and `nlb-ip` leave the Service to the AWS Load "
        "Balancer Controller; absent means a Classic ELB. Create-only: an ELB cannot become an NLB (upstream "
        "rejects the change); an unknown value gives a Classic ELB as upstream, plus a warning.",
    category="type",
)
INTERNAL = _up(
    "internal", NotFalse(), default=False, create_only=True,
    doc="Any non-empty value except `false` makes the load balancer internal (scheme `internal`, private "
        "subnets); `aws-load-balancer-scheme` wins a conflict that makes it internal. Create-only, as AWS cannot "
        "change a scheme: a change to internal deletes the internet-facing load balancer and creates an internal "
        "one (new hostname; leaving it public is never an option); a change to internet-facing is refused with a "
        "Warning and the load balancer stays internal (upstream silently ignores both).",
    category="type",
)
SSL_CERT = _up(
    "ssl-cert", Str(pattern=r"arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:[0-9]{12}:[^\x00-\x20\x7f]+",
                    what="an ACM or IAM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)", sample="arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-example"),
    doc="Certificate for the listeners selected by `ssl-ports`: they become SSL/HTTPS (CLB) or TLS (NLB, "
        "TCP ports only). Upstream passes any string to AWS; ccm checks the ARN shape first.",
    category="listeners",
)
BACKEND_PROTOCOL = _up(
    "backend-protocol", Enum(("http", "https", "ssl", "tcp")), default="tcp",
    doc="Protocol to the nodes: with a certificate `http`/`https` make HTTPS listeners and `ssl`/`tcp` SSL "
        "listeners; without one `http` makes HTTP listeners. Upstream ignores an unknown value when no "
        "certificate is set; ccm always rejects it.",
    category="listeners",
)
SSL_PORTS = _up(
    "ssl-ports", PortList(), default=("*",), default_doc="`*` (all ports)",
    doc="Which Service ports (numbers or names) get the certificate; `*` means all.",
    category="listeners",
)
SSL_NEGOTIATION_POLICY = _up(
    "ssl-negotiation-policy", Str(what="a predefined ELB security policy name", sample="ELBSecurityPolicy-TLS-1-2-2017-01"),
    default_doc="the AWS default",
    doc="Predefined TLS policy (e.g. `ELBSecurityPolicy-TLS-1-2-2017-01`) for the SSL/HTTPS (CLB) or TLS (NLB) "
        "listeners.",
    category="listeners",
)
PROXY_PROTOCOL = maps_to_proxy_protocol(_up(
    "proxy-protocol", Enum(("*",)), providers={"aws", "local"}, default_doc="off",
    doc="`*` enables PROXY protocol towards the nodes on every backend port (CLB policy "
        "`k8s-proxyprotocol-enabled`); the local provider and the node proxy honour it too. Any other value "
        "is an error; NLBs ignore it upstream (use target-group-attributes `proxy_protocol_v2.enabled`).",
    category="client-ip", lb_types=("CLB",),
), enabled=lambda value: value == "*")
ACCESS_LOG_ENABLED = _up(
    "access-log-enabled", GoBool(), default=False,
    doc="Enables access logs (CLB `AccessLog.Enabled`, NLB `access_logs.s3.enabled`).",
    category="logging",
)
ACCESS_LOG_EMIT_INTERVAL = _up(
    "access-log-emit-interval", Int(choices=(5, 60), unit="minutes"), default=60,
    doc="CLB access-log publishing interval in minutes; AWS accepts only 5 or 60 (upstream leaves the check "
        "to AWS).",
    category="logging", lb_types=("CLB",),
)
ACCESS_LOG_S3_BUCKET_NAME = _up(
    "access-log-s3-bucket-name",
    Str(pattern=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", what="an S3 bucket name (3-63 of a-z 0-9 . -)", sample="my-elb-logs"),
    doc="S3 bucket receiving the access logs (NLB: sent only when logs are enabled).",
    category="logging",
)
ACCESS_LOG_S3_BUCKET_PREFIX = _up(
    "access-log-s3-bucket-prefix", Str(what="an S3 key prefix", sample="logs/web", max_len=1024),
    doc="Key prefix of the access-log objects in the bucket.",
    category="logging",
)
CONNECTION_DRAINING_ENABLED = _up(
    "connection-draining-enabled", GoBool(), default=False,
    doc="CLB connection draining; upstream forces it off when the annotation is absent, reverting console "
        "changes.",
    category="timeouts", lb_types=("CLB",),
)
CONNECTION_DRAINING_TIMEOUT = _up(
    "connection-draining-timeout", Int(1, 3600, unit="seconds"), default=300,
    doc="CLB connection-draining timeout in seconds (AWS range 1-3600, checked locally).",
    category="timeouts", lb_types=("CLB",),
)
CONNECTION_IDLE_TIMEOUT = _up(
    "connection-idle-timeout", Int(1, 4000, unit="seconds"), default=60,
    doc="CLB idle timeout in seconds (AWS range 1-4000, checked locally; upstream forces 60 when absent). "
        "NLBs ignore it.",
    category="timeouts", lb_types=("CLB",),
)
CROSS_ZONE_LOAD_BALANCING_ENABLED = _up(
    "cross-zone-load-balancing-enabled", GoBool(), default=False,
    doc="Cross-zone load balancing (CLB `CrossZoneLoadBalancing`, NLB `load_balancing.cross_zone.enabled`); "
        "forced off when absent, as upstream.",
    category="backends",
)
ADDITIONAL_RESOURCE_TAGS = _up(
    "additional-resource-tags", _TAGS, default=MappingProxyType({}), default_doc="none",
    doc="Extra tags on the load balancer, its listeners/target groups and the security group ccm creates "
        "(`Key=` and `Key` give an empty value). Upstream drops malformed items silently; ccm rejects them, "
        "duplicate keys and the reserved `aws:` prefix.",
    category="tags",
)
SECURITY_GROUPS = _up(
    "security-groups", _SG_IDS,
    doc="Security groups that replace the one ccm would create; source ranges are then not applied, as "
        "upstream. NLB: honoured only in the Managed security-group mode.",
    category="security",
)
EXTRA_SECURITY_GROUPS = _up(
    "extra-security-groups", _SG_IDS,
    doc="Security groups attached in addition to the one ccm creates (CLB only; an error on an NLB).",
    category="security", lb_types=("CLB",),
)
HEALTHCHECK_HEALTHY_THRESHOLD = _up(
    "healthcheck-healthy-threshold", _HC_THRESHOLD, default_doc="CLB 2; NLB 3 (Local: 2)",
    doc="Consecutive successes before a node is healthy.",
    category="health",
)
HEALTHCHECK_UNHEALTHY_THRESHOLD = _up(
    "healthcheck-unhealthy-threshold", _HC_THRESHOLD, default_doc="CLB 6; NLB 3 (Local: 2)",
    doc="Consecutive failures before a node is unhealthy.",
    category="health",
)
HEALTHCHECK_INTERVAL = _up(
    "healthcheck-interval", Int(5, 300, unit="seconds"), default_doc="CLB 10; NLB 30 (Local: 10)",
    doc="Seconds between health checks (CLB 5-300; NLB target groups accept 10 or 30). Changing it on an NLB "
        "replaces the target group, as upstream.",
    category="health",
)
HEALTHCHECK_TIMEOUT = _up(
    "healthcheck-timeout", Int(2, 60, unit="seconds"), default_doc="CLB 5",
    doc="Seconds before a health check fails (CLB 2-60; must be less than the interval). Upstream never sends "
        "it for NLBs (cloud-provider-aws#822).",
    category="health", lb_types=("CLB",),
)
HEALTHCHECK_PROTOCOL = _up(
    "healthcheck-protocol", Enum(("TCP", "HTTP", "HTTPS", "SSL"), case_insensitive=True),
    default_doc="TCP (Cluster), HTTP (Local)",
    doc="Health-check protocol; `SSL` is CLB-only. Changing it on an NLB replaces the target group.",
    category="health",
)
HEALTHCHECK_PORT = _up(
    "healthcheck-port", PortOrKeyword("traffic-port"), default_doc="`traffic-port` (Local: the health-check node port)",
    doc="Health-check port: `traffic-port` (the first listener's node port on a CLB) or a number.",
    category="health",
)
HEALTHCHECK_PATH = _up(
    "healthcheck-path", Str(pattern=_PATH, what="a path starting with /", sample="/healthz", max_len=1024),
    default_doc="`/` (Local: `/healthz`)",
    doc="Path of HTTP/HTTPS health checks; ignored for TCP/SSL.",
    category="health",
)
TARGET_NODE_LABELS = _up(
    "target-node-labels", LABELS, default=MappingProxyType({}), default_doc="all nodes",
    doc="Only nodes carrying every listed label are targets; a key alone (or `key=`) matches any value.",
    category="backends",
)
SUBNETS = _up(
    "subnets", List(Str(what="a subnet ID or Name tag", sample="subnet-0123456789abcdef0")), create_only=True, default_doc="auto-discovery",
    doc="Subnets (IDs or Name tags, one per zone); every item must resolve. Create-only on an NLB (subnet "
        "mappings are fixed at creation); a CLB attaches and detaches subnets in place.",
    category="addresses",
)
EIP_ALLOCATIONS = _up(
    "eip-allocations", List(Str(pattern=r"eipalloc-[0-9a-f]+", what="an Elastic IP allocation ID (eipalloc-...)", sample="eipalloc-0123456789abcdef0")),
    create_only=True,
    doc="NLB only: one Elastic IP allocation per subnet (the counts must match). Create-only: subnet mappings "
        "are fixed when the NLB is created.",
    category="addresses", lb_types=("NLB",),
)
PRIVATE_IPV4_ADDRESSES = _up(
    "private-ipv4-addresses", List(IPAddress(4)), create_only=True,
    doc="Internal NLB only: one private IPv4 address per subnet (the counts must match). Create-only, like the "
        "subnet mappings.",
    category="addresses", lb_types=("NLB",),
)
TARGET_GROUP_ATTRIBUTES = _up(
    "target-group-attributes",
    KeyValues(key_only=False, keys=("preserve_client_ip.enabled", "proxy_protocol_v2.enabled"),
              value=Enum(("true", "false"))),
    default=MappingProxyType({}), default_doc="none",
    doc="NLB target-group attributes; upstream allows only `preserve_client_ip.enabled` and "
        "`proxy_protocol_v2.enabled` set to `true`/`false`. An error on a CLB, and "
        "`preserve_client_ip.enabled=false` is an error with UDP ports.",
    category="client-ip", lb_types=("NLB",),
)

# --- AWS Load Balancer Controller only ------------------------------------------------------

NLB_TARGET_TYPE = _lbc(
    "nlb-target-type", Enum(("instance", "ip")), default_doc="`instance`",
    doc="Targets are node ports (`instance`) or pod IPs (`ip`). With `aws-load-balancer-type: external` the Service "
        "belongs to the LBC; otherwise ccm builds node-port targets, so `ip` is refused with a Warning.",
    category="type", lb_types=("NLB",),
)
SCHEME = _lbc(
    "scheme", Enum(("internal", "internet-facing")), create_only=True,
    default_doc="`aws-load-balancer-internal`, else `internet-facing` (the LBC's default is `internal`)",
    doc="Scheme of the Classic ELB or NLB, as the AWS Load Balancer Controller reads it (cloud-provider-aws ignores "
        "it). It wins over `aws-load-balancer-internal` when that asks for internet-facing; with `internet-facing` "
        "while `aws-load-balancer-internal` asks for internal it is refused (the more exposed of two conflicting "
        "settings is never built). Create-only like `aws-load-balancer-internal`.",
    category="type",
)
NAME = _lbc(
    "name", Str(pattern=r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?", what="a load balancer name (letters, digits, '-')", sample="web-nlb",
                max_len=32),
    create_only=True, default_doc="generated",
    doc="Load balancer name; the LBC ignores changes after creation.",
    category="tags", lb_types=("NLB",),
)
IP_ADDRESS_TYPE = _lbc(
    "ip-address-type", Enum(("ipv4", "dualstack")), default_doc="`ipv4`",
    doc="NLB IP address type.",
    category="addresses", lb_types=("NLB",),
)
ATTRIBUTES = _lbc(
    "attributes", KeyValues(key_only=False), default=MappingProxyType({}), default_doc="none",
    doc="NLB attributes, e.g. `deletion_protection.enabled=true` (the NLB cannot be deleted, the Service's deletion "
        "waits, until it is set to false). ccm builds `deletion_protection.enabled`, `access_logs.s3.enabled`, "
        "`access_logs.s3.bucket`, `access_logs.s3.prefix`, `load_balancing.cross_zone.enabled` and "
        "`dns_record.client_routing_policy`; other keys are refused with a Warning. Wins over the legacy access-log "
        "and cross-zone annotations (with a Warning when they differ). An error on a Classic ELB.",
    category="other", lb_types=("NLB",),
)
HEALTHCHECK_SUCCESS_CODES = _lbc(
    "healthcheck-success-codes", Str(pattern=r"[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*",
                                     what="HTTP codes such as 200, 200,202 or 200-399", sample="200-399"),
    default_doc="`200-399`",
    doc="HTTP codes counted as healthy.",
    category="health", lb_types=("NLB",),
)
ALPN_POLICY = _lbc(
    "alpn-policy", Enum(("HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None")),
    default_doc="`None`",
    doc="ALPN policy of the NLB's TLS listeners (those `ssl-cert` and `ssl-ports` make); refused on an NLB without "
        "TLS listeners and on a Classic ELB.",
    category="listeners", lb_types=("NLB",),
)
IPV6_ADDRESSES = _lbc(
    "ipv6-addresses", List(IPAddress(6)),
    doc="Static IPv6 addresses of a dual-stack NLB, one per subnet.",
    category="addresses", lb_types=("NLB",),
)
MANAGE_BACKEND_SECURITY_GROUP_RULES = _lbc(
    "manage-backend-security-group-rules", GoBool(), default_doc="true (false with `security-groups`)",
    doc="Whether the LBC manages node/ENI security-group rules.",
    category="security", lb_types=("NLB",),
)
SECURITY_GROUP_PREFIX_LISTS = _lbc(
    "security-group-prefix-lists", List(Str(pattern=r"pl-[0-9a-f]+", what="a prefix-list ID (pl-...)", sample="pl-0123456789abcdef0")),
    doc="Managed prefix lists allowed by the frontend security group.",
    category="security", lb_types=("NLB",),
)
DISABLE_NLB_SG = _lbc(
    "disable-nlb-sg", GoBool(), default=False,
    doc="Do not create or attach a security group to the NLB.",
    category="security", lb_types=("NLB",),
)
ENABLE_ICMP_FOR_PATH_MTU_DISCOVERY = _lbc(
    "enable-icmp-for-path-mtu-discovery", Enum(("on",)), default_doc="off",
    doc="`on` adds an ICMP rule for path-MTU discovery to the managed security group.",
    category="security", lb_types=("NLB",),
)
PROXY_PROTOCOL_PER_TARGET_GROUP = _lbc(
    "proxy-protocol-per-target-group", PortList(),
    doc="Ports whose target groups get PROXY protocol v2.",
    category="client-ip", lb_types=("NLB",),
)
MINIMUM_LOAD_BALANCER_CAPACITY = _lbc(
    "minimum-load-balancer-capacity",
    KeyValues(key_only=False, keys=("CapacityUnits",), value=Int(min=1)),
    doc="Reserved load balancer capacity, `CapacityUnits=N`.",
    category="type", lb_types=("NLB",),
)
MULTI_CLUSTER_TARGET_GROUP = _lbc(
    "multi-cluster-target-group", GoBool(), default=False,
    doc="Share target groups with other clusters.",
    category="backends", lb_types=("NLB",),
)
ENABLE_TCP_UDP_LISTENER = _lbc(
    "enable-tcp-udp-listener", GoBool(), default=False,
    doc="Merge TCP and UDP on the same port into one TCP_UDP listener.",
    category="listeners", lb_types=("NLB",),
)
LISTENER_ATTRIBUTES = _lbc(
    "listener-attributes.{protocol}-{port}", KeyValues(key_only=False), default=MappingProxyType({}),
    default_doc="none",
    doc="Attributes of the listener on that protocol and port, e.g. `tcp.idle_timeout.seconds=350` for "
        "`listener-attributes.TCP-80`.",
    category="listeners", lb_types=("NLB",),
)
QUIC_ENABLED_PORTS = _lbc(
    "quic-enabled-ports", PortList(),
    doc="UDP ports whose listeners use QUIC.",
    category="listeners", lb_types=("NLB",),
)


def _timeout_below_interval(value_of: Callable[[str], Any]) -> str | None:
    timeout, interval = value_of(HEALTHCHECK_TIMEOUT.key), value_of(HEALTHCHECK_INTERVAL.key)
    if timeout >= interval:
        return f"must be less than {HEALTHCHECK_INTERVAL.key} ({interval}): use a timeout below {interval}"
    return None


cross_check(
    HEALTHCHECK_TIMEOUT, HEALTHCHECK_INTERVAL, check=_timeout_below_interval,
    doc="`healthcheck-timeout` must be less than `healthcheck-interval` (AWS rule).", cel="{0} < {1}",
)


def _scheme_not_more_exposed(value_of: Callable[[str], Any]) -> str | None:
    if value_of(SCHEME.key) == "internet-facing" and value_of(INTERNAL.key):
        return (f"conflicts with {INTERNAL.key}, which asks for an internal load balancer; ccm never builds the more "
                "exposed of two conflicting settings: remove one of them")
    return None


cross_check(
    SCHEME, INTERNAL, check=_scheme_not_more_exposed,
    doc="`scheme: internet-facing` with `internal` set to an internal value is refused (the more exposed of two "
        "conflicting settings is never built); `scheme: internal` wins over `internal: \"false\"`.",
)
