"""The upstream ``cloud.conf`` (``--cloud-config``): ``[Global]``, ``[LoadBalancer]``, ``[LoadBalancerClass "x"]``.

cloud-provider-openstack reads this gcfg file; ccm reads it with :func:`providers.cloudconfig.read_gcfg`
into flat provider options (:func:`parse_cloud_config`: ``[Global]`` and ``[LoadBalancer]`` keys as
themselves, ``[LoadBalancerClass "x"]`` keys as ``loadbalancerclass.x.<key>``) and accepts only the
keys it implements: any other key or section is an error naming section and key (a typo must never
silently change how load balancers are built). Sections that configure other upstream controllers
(``[Networking]``, ``[Metadata]``, ``[BlockStorage]``, ``[Route]``) are skipped with a log line, so a
file shared with them works. :func:`load_config` turns the options (the file's, then
``--provider-option``) into the frozen config, with the same strictness.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from providers.adapter.options import check_known_options, positive_option
from providers.cloudconfig import read_gcfg

log = logging.getLogger(__name__)

#: options ccm adds beside cloud.conf (never in the file)
WAIT_INITIAL = "openstack-lb-wait-initial"
WAIT_MAX = "openstack-lb-wait-max-interval"
WAIT_TIMEOUT = "openstack-lb-wait-timeout"
CCM_OPTIONS = frozenset({WAIT_INITIAL, WAIT_MAX, WAIT_TIMEOUT})
#: ``[LoadBalancerClass "x"]`` key ``k`` as a provider option: ``loadbalancerclass.x.k``
CLASS_PREFIX = "loadbalancerclass."
#: upstream sections for other controllers: skipped
OTHER_SECTIONS = frozenset({"networking", "metadata", "blockstorage", "route"})

_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


class ConfigError(ValueError):
    """cloud.conf cannot be used as written; the message names the section and key."""


@dataclasses.dataclass(frozen=True)
class Auth:
    """``[Global]``: Keystone credentials and where to find the catalog."""

    auth_url: str
    region: str = ""
    username: str = ""
    user_id: str = ""
    password: str = dataclasses.field(default="", repr=False)
    project_id: str = ""
    project_name: str = ""
    domain_id: str = ""
    domain_name: str = ""
    project_domain_id: str = ""
    project_domain_name: str = ""
    user_domain_id: str = ""
    user_domain_name: str = ""
    application_credential_id: str = ""
    application_credential_name: str = ""
    application_credential_secret: str = dataclasses.field(default="", repr=False)
    ca_file: str = ""
    tls_insecure: bool = False
    interface: str = "public"

    def connection_kwargs(self) -> dict[str, Any]:
        """openstacksdk ``Connection`` keywords (keystoneauth's ``password`` or ``v3applicationcredential``)."""
        auth: dict[str, Any] = {"auth_url": self.auth_url}
        if self.application_credential_id or self.application_credential_name:
            auth_type = "v3applicationcredential"
            for key in ("application_credential_id", "application_credential_name", "application_credential_secret",
                        "user_id", "username", "user_domain_id", "user_domain_name"):
                if getattr(self, key):
                    auth[key] = getattr(self, key)
        else:
            auth_type = "password"
            for key in ("username", "user_id", "password", "project_id", "project_name", "user_domain_id",
                        "user_domain_name", "project_domain_id", "project_domain_name"):
                if getattr(self, key):
                    auth[key] = getattr(self, key)
            # upstream's domain-id/-name apply to the user and the project alike when those are not given
            if self.domain_id:
                auth.setdefault("user_domain_id", self.domain_id)
                auth.setdefault("project_domain_id", self.domain_id)
            if self.domain_name:
                auth.setdefault("user_domain_name", self.domain_name)
                auth.setdefault("project_domain_name", self.domain_name)
        out: dict[str, Any] = {"auth_type": auth_type, "auth": auth, "interface": self.interface}
        if self.region:
            out["region_name"] = self.region
        if self.ca_file:
            out["cacert"] = self.ca_file
        if self.tls_insecure:
            out["verify"] = False
        return out


@dataclasses.dataclass(frozen=True)
class NetworkClass:
    """``[LoadBalancerClass "name"]``: a preset the ``class`` annotation picks."""

    floating_network_id: str = ""
    floating_subnet_id: str = ""
    floating_subnet: str = ""
    floating_subnet_tags: str = ""
    network_id: str = ""
    subnet_id: str = ""
    member_subnet_id: str = ""


@dataclasses.dataclass(frozen=True)
class LbConfig(NetworkClass):
    """``[LoadBalancer]``: defaults the annotations override."""

    lb_method: str = "ROUND_ROBIN"
    lb_provider: str = ""
    create_monitor: bool | None = None
    monitor_delay: int = 5
    monitor_timeout: int = 3
    monitor_max_retries: int = 1
    monitor_max_retries_down: int = 3
    internal_lb: bool = False
    enable_ingress_hostname: bool = False
    ingress_hostname_suffix: str = "nip.io"
    flavor_id: str = ""
    availability_zone: str = ""
    enabled: bool = True


@dataclasses.dataclass(frozen=True)
class Waits:
    """How ccm waits for Octavia jobs: poll at once, then every ``initial`` x1.5 up to ``max_interval``."""

    initial: float = 1.0
    max_interval: float = 10.0
    timeout: float = 300.0

    @property
    def retry_after(self) -> float:
        """When the controller looks again at a load balancer in ERROR or one that stays busy (30 s by default)."""
        return 3 * self.max_interval


@dataclasses.dataclass(frozen=True)
class OpenStackConfig:
    auth: Auth
    lb: LbConfig = LbConfig()
    classes: Mapping[str, NetworkClass] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    waits: Waits = Waits()


#: [Global] key -> Auth field ("" for keys accepted and ignored)
_GLOBAL = {
    "auth-url": "auth_url", "region": "region", "username": "username", "user-name": "username",
    "user-id": "user_id", "password": "password", "tenant-id": "project_id", "project-id": "project_id",
    "tenant-name": "project_name", "project-name": "project_name", "domain-id": "domain_id",
    "domain-name": "domain_name", "tenant-domain-id": "project_domain_id", "project-domain-id": "project_domain_id",
    "tenant-domain-name": "project_domain_name", "project-domain-name": "project_domain_name",
    "user-domain-id": "user_domain_id", "user-domain-name": "user_domain_name",
    "application-credential-id": "application_credential_id",
    "application-credential-name": "application_credential_name",
    "application-credential-secret": "application_credential_secret",
    "ca-file": "ca_file", "tls-insecure": "tls_insecure", "os-endpoint-type": "interface",
}
_CLASS_KEYS = {k.replace("_", "-"): k for k in (f.name for f in dataclasses.fields(NetworkClass))}
_LB = {**_CLASS_KEYS, **{k.replace("_", "-"): k for k in (f.name for f in dataclasses.fields(LbConfig))}}
#: upstream keys accepted only with the value every ccm load balancer has anyway
_FIXED = {"use-octavia": "true", "lb-version": "v2", "cascade-delete": "true"}
#: upstream [LoadBalancer] keys ccm does not implement (a clear error beats a silent difference)
_NOT_IMPLEMENTED = {
    "manage-security-groups": "ccm does not manage node security groups; allow the node ports from the member "
                              "subnet in the nodes' own groups",
    "node-security-group": "ccm does not manage node security groups",
    "max-shared-lb": "sharing load balancers between Services is not implemented",
    "default-tls-container-ref": "set the loadbalancer.openstack.org/default-tls-container-ref annotation instead",
    "container-store": "only Barbican references are used",
    "provider-requires-serial-api-calls": "every Octavia call is already sent only on an ACTIVE load balancer",
}


def _typed(section: str, key: str, raw: str, kind: Any) -> Any:
    if kind is bool or kind in {"bool | None", "bool"}:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"[{section}] {key} = {raw!r}: not a boolean (true/false)")
    if kind is int or kind == "int":
        # upstream's monitor-delay/-timeout are Go durations ("60s", "1m"); plain numbers are seconds
        m = re.fullmatch(r"(\d+)(s|m)?", raw.strip())
        if m is None:
            raise ConfigError(f"[{section}] {key} = {raw!r}: not an integer (or a duration like 30s)")
        return int(m.group(1)) * (60 if m.group(2) == "m" else 1)
    return raw


def _fields(cls: Any, section: str, keys: Mapping[str, str], values: Mapping[str, str]) -> dict[str, Any]:
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for key, raw in values.items():
        if key in _FIXED and section == "LoadBalancer":
            if raw.lower() != _FIXED[key]:
                raise ConfigError(f"[{section}] {key} = {raw!r}: ccm supports only {_FIXED[key]}")
            continue
        if key in _NOT_IMPLEMENTED and section == "LoadBalancer":
            if _typed(section, key, raw, "bool") if raw.lower() in _TRUE | _FALSE else True:
                raise ConfigError(f"[{section}] {key}: not implemented by ccm ({_NOT_IMPLEMENTED[key]})")
            continue
        field = keys.get(key)
        if field is None:
            raise ConfigError(f"[{section}] {key}: unknown key; known keys: {', '.join(sorted(keys))}")
        out[field] = _typed(section, key, raw, types[field])
    return out


def _checked_lb(values: dict[str, Any]) -> LbConfig:
    lb = LbConfig(**values)
    if lb.lb_method not in ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"):
        raise ConfigError(f"[LoadBalancer] lb-method = {lb.lb_method!r}: use ROUND_ROBIN, LEAST_CONNECTIONS, "
                          "SOURCE_IP or SOURCE_IP_PORT")
    for key in ("monitor_delay", "monitor_timeout", "monitor_max_retries", "monitor_max_retries_down"):
        if getattr(lb, key) < 1:
            raise ConfigError(f"[LoadBalancer] {key.replace('_', '-')} must be at least 1")
    if not lb.enabled:
        raise ConfigError("[LoadBalancer] enabled = false: the service controller would have nothing to do; "
                          "run ccm controller without it (--controllers) instead")
    return lb


def _waits(options: Mapping[str, str]) -> Waits:
    defaults = Waits()
    return Waits(*(positive_option(options, key, default, provider="openstack") for key, default in (
        (WAIT_INITIAL, defaults.initial), (WAIT_MAX, defaults.max_interval), (WAIT_TIMEOUT, defaults.timeout))))


def class_option(name: str, key: str) -> str:
    """The provider option for ``key`` of ``[LoadBalancerClass "name"]``."""
    return f"{CLASS_PREFIX}{name}.{key}"


def parse_cloud_config(text: str, source: str = "cloud.conf") -> dict[str, str]:
    """cloud.conf ``text`` -> provider options; each section's keys and values are checked here, so an
    error names ``source``, the section and the key. Credentials stay in memory (never on a command line)."""
    options: dict[str, str] = {}
    for (section, sub), found in read_gcfg(text, source).items():
        values = {key: repeated[-1] for key, repeated in found.items()}
        try:
            if section == "global" and not sub:
                _fields(Auth, "Global", _GLOBAL, values)
                options.update(values)
            elif section == "loadbalancer" and not sub:
                _fields(LbConfig, "LoadBalancer", _LB, values)
                options.update(values)
            elif section == "loadbalancerclass" and sub:
                _fields(NetworkClass, f'LoadBalancerClass "{sub}"', _CLASS_KEYS, values)
                options.update({class_option(sub, key): value for key, value in values.items()})
            elif section in OTHER_SECTIONS:
                log.info("%s: [%s] configures another controller; skipped", source, section)
            else:
                raise ConfigError(f"unknown section [{section}{' ' + repr(sub) if sub else ''}]; ccm reads "
                                  "[Global], [LoadBalancer] and [LoadBalancerClass \"name\"]")
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return options


#: every provider option but the per-class ones: cloud.conf's [Global] and [LoadBalancer] keys and ccm's own
OPTIONS = frozenset({*_GLOBAL, *_LB, *_FIXED, *_NOT_IMPLEMENTED, *CCM_OPTIONS})


#: what a build for offline planning (``ccm plan`` without ``--live``) uses where cloud.conf says nothing:
#: no Keystone (nothing is called), and the networks only Neutron could name
PLACEHOLDER_AUTH_URL = "<keystone>"
PLACEHOLDER_SUBNET = "<subnet>"
PLACEHOLDER_FLOATING_NETWORK = "<floating-network>"


def _offline(options: Mapping[str, str]) -> dict[str, str]:
    """``options`` with placeholders for the Keystone endpoint, the VIP subnet (unless a network is
    given: its subnet is looked up then) and the floating network."""
    out = {"auth-url": PLACEHOLDER_AUTH_URL, "floating-network-id": PLACEHOLDER_FLOATING_NETWORK}
    if not (options.get("subnet-id") or options.get("network-id")):
        out["subnet-id"] = PLACEHOLDER_SUBNET
    return {**out, **{key: value for key, value in options.items() if value}}


def load_config(options: Mapping[str, str], *, offline: bool = False) -> OpenStackConfig:
    """The provider's config from its options (:func:`parse_cloud_config`'s, then ``--provider-option``);
    an unknown option is an error naming it. ``offline``: no credentials are needed, and what the
    options leave out that a plan needs is a placeholder."""
    check_known_options({k: v for k, v in options.items() if not k.startswith(CLASS_PREFIX)}, OPTIONS,
                        provider="openstack")
    if offline:
        options = _offline(options)
    auth_values: dict[str, str] = {}
    lb_values: dict[str, str] = {}
    class_values: dict[str, dict[str, str]] = {}
    for key, value in options.items():
        if key.startswith(CLASS_PREFIX):
            name, _, field = key[len(CLASS_PREFIX):].rpartition(".")
            if not name:
                raise ConfigError(f"openstack provider option {key}: expected {CLASS_PREFIX}<class>.<key>")
            class_values.setdefault(name, {})[field] = value
        elif key in _GLOBAL:
            auth_values[key] = value
        elif key not in CCM_OPTIONS:
            lb_values[key] = value
    classes = {name: NetworkClass(**_fields(NetworkClass, f'LoadBalancerClass "{name}"', _CLASS_KEYS, values))
               for name, values in class_values.items()}
    return _finish(_fields(Auth, "Global", _GLOBAL, auth_values), _fields(LbConfig, "LoadBalancer", _LB, lb_values),
                   classes, options, offline=offline)


def _finish(auth_values: dict[str, Any], lb_values: dict[str, Any], classes: dict[str, NetworkClass],
            options: Mapping[str, str], *, offline: bool) -> OpenStackConfig:
    if not auth_values.get("auth_url"):
        raise ConfigError("[Global] auth-url is required (the Keystone endpoint, e.g. https://keystone:5000/v3)")
    auth = Auth(**auth_values)
    if auth.interface not in ("public", "internal", "admin"):
        raise ConfigError(f"[Global] os-endpoint-type = {auth.interface!r}: use public, internal or admin")
    app = auth.application_credential_id or auth.application_credential_name
    if app and not auth.application_credential_secret:
        raise ConfigError("[Global] application-credential-secret is required with an application credential")
    if not app and not offline and not ((auth.username or auth.user_id) and auth.password):
        raise ConfigError("[Global] give username (or user-id) and password, or an application credential")
    return OpenStackConfig(auth, _checked_lb(lb_values), MappingProxyType(classes), _waits(options))
