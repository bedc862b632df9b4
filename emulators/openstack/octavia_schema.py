"""Octavia v2 request bodies: the POST, PUT and single-create (graph) attribute tables per object.

These follow Octavia's wsme types (``octavia/api/v2/types``): what may be sent on create, on update,
and nested inside a fully populated load balancer create (``listeners`` -> ``default_pool`` ->
``members`` / ``healthmonitor``). Anything else is refused with Octavia's "Unknown attribute"
answer. Constants are Octavia's (``octavia_lib.common.constants``).
"""

from __future__ import annotations

from emulators.openstack import schema as s

LISTENER_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS")
POOL_PROTOCOLS = ("HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP", "SCTP")
LB_ALGORITHMS = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT")
HM_TYPES = ("HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "PATCH", "CONNECT")
PERSISTENCE_TYPES = ("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE")
CLIENT_AUTH = ("NONE", "OPTIONAL", "MANDATORY")
INSERT_HEADERS = ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-SSL-Client-Verify",
                  "X-SSL-Client-Has-Cert", "X-SSL-Client-DN", "X-SSL-Client-CN", "X-SSL-Issuer",
                  "X-SSL-Client-SHA1", "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After")
MAX_TIMEOUT = 24 * 60 * 60 * 365 * 1000
#: Octavia's configured listener timeout defaults (``[haproxy_amphora]``)
TIMEOUT_DEFAULTS = {"timeout_client_data": 50000, "timeout_member_connect": 5000,
                    "timeout_member_data": 50000, "timeout_tcp_inspect": 0}

_NAME = s.Attr("name", s.string(255), update=True, default="")
_DESCRIPTION = s.Attr("description", s.string(255), update=True, default="")
_ADMIN = s.Attr("admin_state_up", s.boolean, update=True, default=True)
_PROJECT = s.Attr("project_id", s.string(36))
_TAGS = s.Attr("tags", s.tags, update=True, default=list)
_REF = s.string(255)

PERSISTENCE = s.obj(
    s.Attr("type", s.enum(*PERSISTENCE_TYPES), required=True),
    s.Attr("cookie_name", s.pattern(r"[\x21-\x7e]{1,255}", "a cookie name")),
    s.Attr("persistence_timeout", s.integer(0)),
    s.Attr("persistence_granularity", s.string(64)),
    name="session_persistence",
)


def _hm_attrs(*, with_pool: bool) -> tuple[s.Attr, ...]:
    return (
        _NAME,
        *((s.Attr("pool_id", s.uuid_str, required=True),) if with_pool else ()),
        s.Attr("delay", s.integer(0, 2147483647), update=True, required=True, nullable=False),
        s.Attr("timeout", s.integer(0, 2147483647), update=True, required=True, nullable=False),
        s.Attr("max_retries", s.integer(1, 10), update=True, required=True, nullable=False),
        s.Attr("max_retries_down", s.integer(1, 10), update=True, default=3),
        s.Attr("type", s.enum(*HM_TYPES), required=True),
        s.Attr("http_method", s.enum(*HTTP_METHODS), update=True),
        s.Attr("url_path", s.pattern(r"/\S*", "a URL path starting with /"), update=True),
        s.Attr("expected_codes", s.pattern(r"\d{3}(-\d{3}|(,\d{3})*)", "HTTP codes like 200, 200,202 or 200-204"),
               update=True),
        _ADMIN,
        *((_PROJECT,) if with_pool else ()),
        _TAGS,
        s.Attr("http_version", s.enum("1.0", "1.1"), update=True),
        s.Attr("domain_name", s.string(255), update=True),
    )


HEALTHMONITOR = s.Schema("healthmonitor", _hm_attrs(with_pool=True))
HEALTHMONITOR_SINGLE = s.obj(*_hm_attrs(with_pool=False), name="healthmonitor")


def _member_attrs(*, top: bool) -> tuple[s.Attr, ...]:
    return (
        _NAME,
        _ADMIN,
        s.Attr("address", s.ip_address, required=True),
        s.Attr("protocol_port", s.integer(1, 65535), required=True),
        s.Attr("weight", s.integer(0, 256), update=True, default=1),
        s.Attr("backup", s.boolean, update=True, default=False),
        s.Attr("subnet_id", s.uuid_str),
        s.Attr("monitor_port", s.integer(1, 65535), update=True),
        s.Attr("monitor_address", s.ip_address, update=True),
        *((_PROJECT,) if top else ()),
        _TAGS,
        s.Attr("request_sriov", s.boolean, default=False),
    )


MEMBER = s.Schema("member", _member_attrs(top=True))
MEMBER_SINGLE = s.obj(*_member_attrs(top=False), name="member")


def _pool_attrs(*, top: bool) -> tuple[s.Attr, ...]:
    return (
        _NAME, _DESCRIPTION, _ADMIN,
        *((s.Attr("listener_id", s.uuid_str), s.Attr("loadbalancer_id", s.uuid_str), _PROJECT) if top else ()),
        s.Attr("protocol", s.enum(*POOL_PROTOCOLS), required=True),
        s.Attr("lb_algorithm", s.enum(*LB_ALGORITHMS), update=True, required=True, nullable=False),
        s.Attr("session_persistence", PERSISTENCE, update=True),
        s.Attr("healthmonitor", HEALTHMONITOR_SINGLE),
        s.Attr("members", s.list_of(MEMBER_SINGLE)),
        _TAGS,
        s.Attr("tls_container_ref", _REF, update=True),
        s.Attr("ca_tls_container_ref", _REF, update=True),
        s.Attr("crl_container_ref", _REF, update=True),
        s.Attr("tls_enabled", s.boolean, update=True, default=False),
        s.Attr("tls_ciphers", s.string(2048), update=True),
        s.Attr("tls_versions", s.list_of(s.string(32)), update=True),
        s.Attr("alpn_protocols", s.list_of(s.enum("http/1.0", "http/1.1", "h2")), update=True),
    )


POOL = s.Schema("pool", _pool_attrs(top=True))
POOL_SINGLE = s.obj(*_pool_attrs(top=False), name="pool")


def _listener_attrs(*, top: bool) -> tuple[s.Attr, ...]:
    timeout = s.integer(0, MAX_TIMEOUT)
    return (
        _NAME, _DESCRIPTION, _ADMIN,
        s.Attr("protocol", s.enum(*LISTENER_PROTOCOLS), required=True),
        s.Attr("protocol_port", s.integer(1, 65535), required=True),
        s.Attr("connection_limit", s.integer(-1), update=True, default=-1),
        s.Attr("default_tls_container_ref", _REF, update=True),
        s.Attr("sni_container_refs", s.list_of(_REF), update=True),
        *((_PROJECT, s.Attr("loadbalancer_id", s.uuid_str, required=True)) if top else ()),
        s.Attr("default_pool_id", s.uuid_str, update=True),
        s.Attr("default_pool", POOL_SINGLE),
        s.Attr("l7policies", s.list_of(s.anything), default=list),
        s.Attr("insert_headers", s.dict_of_str, update=True),
        *(s.Attr(name, timeout, update=True) for name in TIMEOUT_DEFAULTS),
        _TAGS,
        s.Attr("client_ca_tls_container_ref", _REF, update=True),
        s.Attr("client_authentication", s.enum(*CLIENT_AUTH), update=True, default="NONE"),
        s.Attr("client_crl_container_ref", _REF, update=True),
        s.Attr("allowed_cidrs", s.list_of(s.cidr), update=True),
        s.Attr("tls_ciphers", s.string(2048), update=True),
        s.Attr("tls_versions", s.list_of(s.string(32)), update=True),
        s.Attr("alpn_protocols", s.list_of(s.enum("http/1.0", "http/1.1", "h2")), update=True),
        s.Attr("hsts_max_age", s.integer(0), update=True),
        s.Attr("hsts_include_subdomains", s.boolean, update=True),
        s.Attr("hsts_preload", s.boolean, update=True),
    )


LISTENER = s.Schema("listener", _listener_attrs(top=True))
LISTENER_SINGLE = s.obj(*_listener_attrs(top=False), name="listener")

LOADBALANCER = s.Schema("loadbalancer", (
    _NAME, _DESCRIPTION, _ADMIN,
    s.Attr("vip_address", s.ip_address),
    s.Attr("vip_port_id", s.uuid_str),
    s.Attr("vip_subnet_id", s.uuid_str),
    s.Attr("vip_network_id", s.uuid_str),
    s.Attr("vip_qos_policy_id", s.uuid_str, update=True),
    s.Attr("vip_sg_ids", s.list_of(s.uuid_str), update=True),
    s.Attr("additional_vips", s.list_of(s.anything)),
    _PROJECT,
    s.Attr("listeners", s.list_of(LISTENER_SINGLE)),
    s.Attr("pools", s.list_of(POOL_SINGLE)),
    s.Attr("provider", s.string(64)),
    _TAGS,
    s.Attr("flavor_id", s.uuid_str),
    s.Attr("availability_zone", s.string(255)),
))

QUOTA = s.Schema("quota", tuple(
    s.Attr(name, s.integer(-1), update=True)
    for name in ("loadbalancer", "load_balancer", "listener", "member", "pool", "healthmonitor", "health_monitor",
                 "l7policy", "l7rule")
))

#: listener protocol -> the pool protocols Octavia accepts behind it
LISTENER_POOL_PROTOCOLS = {
    "TCP": ("HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"),
    "HTTP": ("HTTP", "PROXY", "PROXYV2"),
    "HTTPS": ("HTTPS", "PROXY", "PROXYV2", "TCP"),
    "TERMINATED_HTTPS": ("HTTP", "PROXY", "PROXYV2"),
    "UDP": ("UDP",),
    "SCTP": ("SCTP",),
    "PROMETHEUS": (),
}
#: pool protocol -> health monitor types Octavia accepts on it
POOL_HM_TYPES = {
    "UDP": ("UDP-CONNECT", "HTTP", "TCP", "PING"),
    "SCTP": ("SCTP", "HTTP", "TCP", "PING"),
}
#: the transport a listener's port is taken on (a TCP and a UDP listener may share a port number)
TRANSPORT = {"HTTP": "tcp", "HTTPS": "tcp", "TCP": "tcp", "TERMINATED_HTTPS": "tcp", "PROMETHEUS": "tcp",
             "UDP": "udp", "SCTP": "sctp"}
