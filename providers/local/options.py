"""Settings of the local cloud, read once from ``ProviderContext.options``.

Every value has a default that needs no privileges: VIPs come from a /24 inside
127.0.0.0/8 (Linux routes the whole block to ``lo``, so any of them can be bound),
and the state file lives in a private directory named after the cluster so two
clusters on one machine do not share VIP bookkeeping by accident: under the user's
runtime directory (``$XDG_RUNTIME_DIR``, per user and mode 0700 by specification), else
``<tmp>/ccm-local-<uid>-<cluster>``. Either way the directory is created 0700 and refused
if someone else owns it or others may write to it (:mod:`providers.local.statedir`): a
predictable name in a shared ``/tmp`` would otherwise let another local user pre-create it
and rewrite which Service holds which VIP.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from providers.adapter.options import positive_option

DEFAULT_VIP_POOL = "127.0.2.0/24"
DEFAULT_NODE_HEALTH_PORT = 10256  # kube-proxy's --healthz-bind-address port
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


@dataclasses.dataclass(frozen=True, slots=True)
class LocalOptions:
    vip_pool: ipaddress.IPv4Network
    state_file: Path
    #: the node proxy's /healthz port, probed for externalTrafficPolicy Cluster
    node_health_port: int = DEFAULT_NODE_HEALTH_PORT
    #: seconds between probes of one target (cloud-provider-kind's Envoy uses 2 s)
    health_interval: float = 1.0
    health_timeout: float = 1.0
    #: consecutive failures that take a healthy node out (Envoy: unhealthy_threshold 2)
    unhealthy_threshold: int = 2
    #: consecutive passes that bring a node (back) in
    healthy_threshold: int = 1
    #: "false" turns probing off: every node is a backend (for clouds without node proxies)
    health_checks: bool = True
    #: JSON inventory of pretend machines for the instances capability (None: this host's addresses)
    instances_file: Path | None = None


def _safe_name(cluster_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", cluster_name) or "kubernetes"


def default_state_file(cluster_name: str) -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        return Path(runtime) / f"ccm-local-{_safe_name(cluster_name)}" / "state.json"
    # in the shared temp dir the user id is part of the name: another user's would be refused
    return Path(tempfile.gettempdir()) / f"ccm-local-{os.geteuid()}-{_safe_name(cluster_name)}" / "state.json"


def proxy_protocol_sources(vip_pool: str | ipaddress.IPv4Network = DEFAULT_VIP_POOL) -> tuple[str, ...]:
    """What node proxies behind local load balancers pass as ``--proxy-protocol-trusted-cidrs``.

    A local load balancer dials node ports from its own VIP (the engine binds the listener's
    address), so its PROXY headers come from the VIP pool and from nowhere else.
    """
    return (str(ipaddress.ip_network(vip_pool, strict=False)),)


_positive = functools.partial(positive_option, provider="local")


def parse_options(cluster_name: str, options: Mapping[str, str]) -> LocalOptions:
    """Validate the options; a bad value stops start-up with a message naming the option."""
    raw_pool = options.get("vip-pool") or DEFAULT_VIP_POOL
    try:
        pool = ipaddress.ip_network(raw_pool, strict=False)
    except ValueError as e:
        raise ValueError(f"local provider option vip-pool={raw_pool!r}: {e}") from None
    if not isinstance(pool, ipaddress.IPv4Network) or pool.num_addresses < 1:
        raise ValueError(f"local provider option vip-pool={raw_pool!r}: an IPv4 CIDR is required")
    port = int(_positive(options, "node-health-port", DEFAULT_NODE_HEALTH_PORT, int))
    if port > 65535:
        raise ValueError(f"local provider option node-health-port={port}: not a port")
    raw_checks = (options.get("health-checks") or "true").strip().lower()
    if raw_checks not in _BOOLEANS:
        raise ValueError(f"local provider option health-checks={raw_checks!r}: use true or false")
    return LocalOptions(
        vip_pool=pool,
        state_file=Path(options.get("state-file") or default_state_file(cluster_name)),
        node_health_port=port,
        health_interval=_positive(options, "health-interval", 1.0),
        health_timeout=_positive(options, "health-timeout", 1.0),
        unhealthy_threshold=int(_positive(options, "unhealthy-threshold", 2, int)),
        healthy_threshold=int(_positive(options, "healthy-threshold", 1, int)),
        health_checks=_BOOLEANS[raw_checks],
        instances_file=Path(options["instances-file"]) if options.get("instances-file") else None,
    )
