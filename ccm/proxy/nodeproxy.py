"""``NodeProxy``: one node's kube-proxy (userspace-mode semantics) on a forwarding engine.

Informers (Services, EndpointSlices, Nodes) run on their own threads; their handlers only
mark the proxy dirty and hand a coalesced sync to the engine's loop with
``call_soon_threadsafe``. Handlers record which Services changed (a Service, or the owner
of an EndpointSlice); a sync recomputes only those Services' plans (``ccm.proxy.model``), so
one event costs one Service however many exist. A change of this Node, the periodic resync
and a restart recompute all. Each plan is applied as a difference: unchanged listeners are
untouched, changed ones are updated in place (so connections to endpoints still valid
survive), removed ones close. Several NodeProxies can share one ``ThreadedEngine`` (the
demo's three nodes on 127.0.1.x): each owns its keys.

Node-wide settings go into every listener's config on top of the Service's plan: the load
balancers trusted to send PROXY headers (``--proxy-protocol-trusted-cidrs``; nobody by
default, so a client cannot name another client in a forged header and pass
``loadBalancerSourceRanges``), what other peers' headers get, and the per-listener
connection limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ccm.kube.client import RawClient
from ccm.kube.events import WARNING, EventRecorder, Recorder
from ccm.kube.informer import Informer
from ccm.kube.resources import ENDPOINTSLICES, NODES, SERVICES
from ccm.proxy import model
from ccm.proxy.engine import ForwardingEngine, ListenerConfig, ThreadedEngine
from ccm.proxy.engine.config import UNTRUSTED_PROXY_PROTOCOL
from ccm.proxy.engine.ranges import SourceRanges
from ccm.proxy.engine.tcp import bind_socket
from ccm.proxy.health import ProxyHealth, ServiceHealth, go_quote
from ccm.proxy.httpd import HttpServer

log = logging.getLogger(__name__)

COMPONENT = "ccm-node-proxy"
SHUTDOWN_TIMEOUT = 10.0
INVALID = "InvalidServiceConfiguration"
REASONS = (INVALID, "FailedToStartNodePort", "FailedToStartServiceHealthcheck", "note")
ListenerKey = tuple[str, int, str]


def _slice_service(obj: Mapping[str, Any]) -> list[str]:
    name = (obj.get("metadata", {}).get("labels") or {}).get(model.SERVICE_NAME_LABEL)
    return [f"{obj['metadata'].get('namespace', '')}/{name}"] if name else []


def listen_error(protocol: str, ip: str, port: int, e: OSError) -> str:
    """An OSError from bind as Go's net.Listen words it (``listen tcp 1.2.3.4:80: bind: ...``)."""
    reason = e.strerror or str(e)
    host = f"[{ip}]" if ":" in ip else ip
    return f"listen {protocol.lower()} {host}:{port}: bind: {reason[:1].lower()}{reason[1:]}"


def parse_cidrs(flag: str, value: str | Iterable[str]) -> tuple[str, ...]:
    """A comma-separated list (or a list) of CIDRs; raises ValueError naming the flag and the entry."""
    items = value.split(",") if isinstance(value, str) else list(value)
    cidrs = tuple(c.strip() for c in items if c.strip())
    for cidr in cidrs:
        try:
            SourceRanges((cidr,))
        except ValueError:
            raise ValueError(f"{flag}: {cidr!r} is not a CIDR") from None
    return cidrs


def parse_bind(address: str, flag: str = "--healthz-bind-address") -> tuple[str, int]:
    """``ip:port`` or ``[v6]:port``; raises ValueError with the flag's name."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{flag}: {address!r} is not ip:port")
    return host.strip("[]") or "0.0.0.0", int(port)


class _HealthCheckServer:
    """One Service's healthCheckNodePort, on every node address."""

    def __init__(self, port: int, addresses: tuple[str, ...], handler: ServiceHealth,
                 servers: list[HttpServer]) -> None:
        self.port = port
        self.addresses = addresses
        self.handler = handler
        self.servers = servers


class NodeProxy:
    """One node's proxy; informer threads mark Services dirty, the engine loop applies them."""

    def __init__(self, client: Any, node_name: str, *, nodeport_addresses: Iterable[str] | None = None,
                 healthz_bind: str | None = "0.0.0.0:10256", engine: ThreadedEngine | None = None,
                 recorder: Recorder | None = None, udp_idle_timeout: float = 30.0,
                 sync_period: float = 30.0, retry_interval: float = 5.0,
                 proxy_protocol_trusted_cidrs: Iterable[str] = (), untrusted_proxy_protocol: str = "refuse",
                 max_connections_per_listener: int = 0) -> None:
        self.raw = client if isinstance(client, RawClient) else RawClient(client)
        self.node_name = node_name
        if untrusted_proxy_protocol not in UNTRUSTED_PROXY_PROTOCOL:
            raise ValueError(f"--proxy-protocol-untrusted: {untrusted_proxy_protocol!r} is not one of "
                             f"{', '.join(UNTRUSTED_PROXY_PROTOCOL)}")
        if max_connections_per_listener < 0:
            raise ValueError("--max-connections-per-listener: must be 0 (no limit) or positive")
        #: applied to every listener's config (see the module docstring)
        self.node_settings: dict[str, Any] = {
            "proxy_protocol_trusted": parse_cidrs("--proxy-protocol-trusted-cidrs", proxy_protocol_trusted_cidrs),
            "untrusted_proxy_protocol": untrusted_proxy_protocol,
            "max_connections": max_connections_per_listener,
        }
        self.nodeport_addresses = tuple(nodeport_addresses or ())
        model.validate_nodeport_addresses(self.nodeport_addresses)
        self.healthz_bind = parse_bind(healthz_bind) if healthz_bind else None
        self._own_engine = engine is None
        self.engine = engine or ThreadedEngine()
        self._own_recorder = recorder is None
        self.recorder: Recorder = recorder or EventRecorder(self.raw, COMPONENT, host=node_name)
        self.udp_idle_timeout = udp_idle_timeout
        self.sync_period = sync_period
        self.retry_interval = retry_interval
        self.health = ProxyHealth(health_timeout=2 * sync_period)
        self.services = Informer(self.raw, SERVICES)
        self.slices = Informer(self.raw, ENDPOINTSLICES, label_selector=model.SERVICE_NAME_LABEL,
                               indexers={"service": _slice_service})
        # only this Node: a proxy per node must not cache (and wake for) the whole fleet
        self.nodes = Informer(self.raw, NODES, field_selector=f"metadata.name={node_name}")
        self._informers = (self.services, self.slices, self.nodes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._ready = threading.Event()
        self._stopped = False
        self._timer: asyncio.TimerHandle | None = None
        self._healthz: HttpServer | None = None
        # shared with the informer threads, under _lock: what changed since the last sync
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._full = True
        # loop-thread state
        self._addresses: tuple[str, ...] | None = None
        self._applied: dict[str, model.ServicePlan] = {}  # service key -> plan in force
        self._owned: dict[ListenerKey, str] = {}  # listener -> service key
        self._health_checks: dict[str, _HealthCheckServer] = {}
        self._retired: list[HttpServer] = []  # closed, their probe tasks maybe still finishing
        self._retry: set[str] = set()  # services with a port that failed to bind
        self._reported: dict[tuple[str, str], str] = {}  # (service, reason) -> last message
        self.syncs = 0
        self.services_planned = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the healthz server (OSError if taken), start the informers and the sync loop."""
        if self._own_engine:
            self.engine.start()
        self._loop = self.engine.loop
        if self.healthz_bind:
            try:
                sock = bind_socket(*self.healthz_bind, kind=socket.SOCK_STREAM)
            except OSError:
                if self._own_engine:
                    self.engine.stop()
                self._loop = None
                raise
            self._healthz = HttpServer(sock, self.health.handle, f"{self.node_name} healthz")
            self.engine.call(self._healthz.start, self._loop)
        self.services.add_handler(self._on_service, lambda old, new: self._on_service(new),
                                  self._on_service)
        self.slices.add_handler(self._on_slice, self._on_slice_update, self._on_slice)
        self.nodes.add_handler(self._on_node, lambda old, new: self._on_node(new), self._on_node)
        for informer in self._informers:
            informer.start()
        log.info("%s: node proxy started (nodeport addresses %s)", self.node_name,
                 ",".join(self.nodeport_addresses) or "InternalIP")

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once the caches synced and the first sync was applied."""
        return self._ready.wait(timeout)

    @property
    def healthz_port(self) -> int | None:
        return None if self._healthz is None else int(self._healthz.sock.getsockname()[1])

    def stop(self) -> None:
        self._stopped = True
        for informer in self._informers:
            informer.stop()
        if self._loop is not None and not self._loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(SHUTDOWN_TIMEOUT)
            except RuntimeError:
                log.warning("%s: engine loop gone before the node proxy stopped", self.node_name)
        if self._own_recorder and isinstance(self.recorder, EventRecorder):
            self.recorder.stop()
        if self._own_engine:
            self.engine.stop()

    async def _shutdown(self) -> None:
        """Close listeners and HTTP servers, and await their probe tasks before the loop stops."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        engine = self.engine.engine
        for key in list(self._owned):
            engine.close_listener(*key)
        self._owned.clear()
        self._applied.clear()
        for hc in self._health_checks.values():
            self._retire(hc.servers)
        self._health_checks.clear()
        if self._healthz is not None:
            self._retire([self._healthz])
        await asyncio.gather(*(server.wait_closed() for server in self._retired))
        self._retired.clear()

    def _retire(self, servers: Iterable[HttpServer]) -> None:
        for server in servers:
            server.close()
            self._retired.append(server)

    # -- informer threads --------------------------------------------------------------------
    def _on_service(self, obj: Any) -> None:
        self._changed(model.service_key(obj))

    def _on_slice(self, obj: Any) -> None:
        self._changed(*_slice_service(obj))

    def _on_slice_update(self, old: Any, new: Any) -> None:
        self._changed(*_slice_service(old), *_slice_service(new))

    def _on_node(self, obj: Any) -> None:
        self._changed(full=True)

    def _changed(self, *keys: str, full: bool = False) -> None:
        if not keys and not full:
            return
        with self._lock:
            self._dirty.update(keys)
            self._full = self._full or full
        self.health.queued()
        self._kick()

    def _kick(self) -> None:
        if not self._scheduled and self._loop is not None and not self._stopped:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._sync)
            except RuntimeError:  # loop closed during shutdown
                pass

    # -- the loop ----------------------------------------------------------------------------
    def _schedule(self, delay: float, full: bool) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, self._periodic, full)

    def _periodic(self, full: bool) -> None:
        self._timer = None
        if full:
            with self._lock:
                self._full = True
        self._sync()

    def _sync(self) -> None:
        self._scheduled = False
        if self._stopped:
            return
        if not all(i.has_synced() for i in self._informers):
            self._schedule(0.05, False)
            return
        queued = self.health.begin_sync()
        with self._lock:
            dirty, full = self._dirty, self._full
            self._dirty, self._full = set(), False
        try:
            failures = self._apply(dirty | self._retry, full)
        except Exception:
            log.exception("%s: node proxy sync failed", self.node_name)
            with self._lock:
                self._full = True
            self.health.requeue(queued)
            self._schedule(self.retry_interval, True)
            return
        self.syncs += 1
        self.health.updated()
        self._ready.set()
        self._retired = [s for s in self._retired if not s.done]
        if failures:
            self._schedule(self.retry_interval, False)
        elif full or self._timer is None:
            self._schedule(self.sync_period, True)

    def _apply(self, keys: set[str], full: bool) -> int:
        """Recompute and apply the plans of ``keys`` (of every Service when ``full``)."""
        node = self.nodes.store.get(self.node_name)
        self.health.node_eligible = model.node_eligible(node)
        addresses = model.listen_addresses(node, self.nodeport_addresses)
        if addresses != self._addresses:
            self._addresses = addresses
            full = True
        if full:
            keys = set(self.services.store.keys()) | set(self._applied)
        engine = self.engine.engine
        return sum(self._apply_service(engine, key, addresses) for key in sorted(keys))

    def _apply_service(self, engine: ForwardingEngine, key: str, addresses: tuple[str, ...]) -> int:
        """Make one Service's listeners and health check match its plan; returns bind failures."""
        self.services_planned += 1
        svc = self.services.store.get(key)
        if svc is None:
            plan = model.ServicePlan()
            for reason in REASONS:
                self._reported.pop((key, reason), None)
        else:
            plan = model.plan_service(svc, self.slices.store.by_index("service", key), self.node_name,
                                      addresses, udp_idle_timeout=self.udp_idle_timeout)
            plan.listeners = {lkey: dataclasses.replace(config, **self.node_settings)
                              for lkey, config in plan.listeners.items()}
            if plan.error is not None:
                # a bad annotation leaves the Service's listeners exactly as they were
                self._report(svc, INVALID, f"node proxy on {self.node_name} keeps the previous "
                                           f"configuration: {plan.error}", once=True)
                return 0
            self._reported.pop((key, INVALID), None)
            if plan.note is not None and self._reported.get((key, "note")) != plan.note:
                self._reported[(key, "note")] = plan.note
                log.warning("%s: %s", key, plan.note)
        old = self._applied.get(key)  # kept until the new plan is in force: a failed sync retries it
        for lkey in old.listeners if old is not None else ():
            if lkey not in plan.listeners and self._owned.get(lkey) == key:
                engine.close_listener(*lkey)
                del self._owned[lkey]
        failures = sum(not self._ensure_listener(engine, lkey, key, config, svc)
                       for lkey, config in plan.listeners.items())
        failures += self._ensure_health_check(key, plan.health_check, svc, addresses)
        if svc is not None:
            self._applied[key] = plan
        else:
            self._applied.pop(key, None)
        if failures:
            self._retry.add(key)
        else:
            self._retry.discard(key)
        return failures

    def _ensure_listener(self, engine: ForwardingEngine, key: ListenerKey, svc_key: str,
                         config: ListenerConfig, svc: Mapping[str, Any] | None) -> bool:
        ip, port, protocol = key
        if key in self._owned:
            if engine.config_of(*key) != config:
                engine.update(ip, port, protocol, config)
                log.info("%s: updated nodePort %s:%d/%s (%d endpoints)", svc_key, ip, port, protocol,
                         len(config.backends))
            return True
        try:
            engine.listen(ip, port, config)
        except OSError as e:
            if svc is not None:
                self._report(svc, "FailedToStartNodePort",
                             f"node {self.node_name} failed to start nodePort {go_quote(svc_key)} on "
                             f"{ip}:{port}/{protocol.lower()}: {listen_error(protocol, ip, port, e)}")
            return False
        self._owned[key] = svc_key
        self._reported.pop((svc_key, "FailedToStartNodePort"), None)
        log.info("%s: listening on nodePort %s:%d/%s (%d endpoints)", svc_key, ip, port, protocol,
                 len(config.backends))
        return True

    def _ensure_health_check(self, svc_key: str, want: model.HealthCheckPlan | None,
                             svc: Mapping[str, Any] | None, addresses: tuple[str, ...]) -> int:
        current = self._health_checks.get(svc_key)
        if current is not None and (want is None or want.port != current.port
                                    or addresses != current.addresses):
            self._retire(self._health_checks.pop(svc_key).servers)
            current = None
        if want is None or svc is None:
            return 0
        if current is not None:
            current.handler.local_endpoints = want.local_endpoints
            return 0
        handler = ServiceHealth(self.health, want.namespace, want.name, want.local_endpoints)
        servers: list[HttpServer] = []
        ip = ""
        try:
            for ip in addresses:
                sock = bind_socket(ip, want.port, socket.SOCK_STREAM)
                servers.append(HttpServer(sock, handler.handle, f"{svc_key} healthcheck"))
        except OSError as e:
            for server in servers:
                server.sock.close()
            # kube-proxy's words exactly (pkg/proxy/healthcheck/service_health.go)
            self._report(svc, "FailedToStartServiceHealthcheck",
                         f"node {self.node_name} failed to start healthcheck {go_quote(svc_key)} "
                         f"on port {want.port}: {listen_error('TCP', ip, want.port, e)}")
            return 1
        assert self._loop is not None
        for server in servers:
            server.start(self._loop)
        self._health_checks[svc_key] = _HealthCheckServer(want.port, addresses, handler, servers)
        self._reported.pop((svc_key, "FailedToStartServiceHealthcheck"), None)
        log.info("%s: health check server on port %d (%d local endpoints)", svc_key, want.port,
                 want.local_endpoints)
        return 0

    def _report(self, svc: Mapping[str, Any], reason: str, message: str, once: bool = False) -> None:
        """A Warning event on the Service plus a log line (events aggregate repeats into count).

        ``once``: only when the message differs from the last one reported (input errors do
        not change by retrying; bind failures are re-reported on each retry, as kube-proxy does).
        """
        key = model.service_key(svc)
        if once and self._reported.get((key, reason)) == message:
            return
        log.warning("%s: %s: %s", key, reason, message)
        if "kind" not in svc:
            svc = {**svc, "kind": "Service", "apiVersion": "v1"}
        self.recorder.event(svc, WARNING, reason, message)
        self._reported[(key, reason)] = message
