"""``NodeProxy``: one node's kube-proxy (userspace-mode semantics) on a forwarding engine.

Informers (Services, EndpointSlices, Nodes) run on their own threads; their handlers only
mark the proxy dirty and hand a coalesced sync to the engine's loop with
``call_soon_threadsafe``. A sync recomputes the whole plan (``ccm.proxy.model``) and applies
the difference: unchanged listeners are untouched, changed ones are updated in place (so
connections to endpoints still valid survive), removed ones close. Several NodeProxies can
share one ``ThreadedEngine`` (the demo's three nodes on 127.0.1.x): each owns its keys.
"""

from __future__ import annotations

import asyncio
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
from ccm.proxy.engine import ListenerConfig, ThreadedEngine
from ccm.proxy.engine.tcp import bind_socket
from ccm.proxy.health import ProxyHealth, ServiceHealth
from ccm.proxy.httpd import HttpServer

log = logging.getLogger(__name__)

COMPONENT = "ccm-node-proxy"
ListenerKey = tuple[str, int, str]


def _slice_service(obj: Mapping[str, Any]) -> list[str]:
    name = (obj.get("metadata", {}).get("labels") or {}).get(model.SERVICE_NAME_LABEL)
    return [f"{obj['metadata'].get('namespace', '')}/{name}"] if name else []


def parse_bind(address: str) -> tuple[str, int]:
    """``ip:port`` or ``[v6]:port``; raises ValueError with the flag's name."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--healthz-bind-address: {address!r} is not ip:port")
    return host.strip("[]") or "0.0.0.0", int(port)


class _HealthCheckServer:
    """One Service's healthCheckNodePort, on every node address."""

    def __init__(self, port: int, handler: ServiceHealth, servers: list[HttpServer]) -> None:
        self.port = port
        self.handler = handler
        self.servers = servers

    def close(self) -> None:
        for server in self.servers:
            server.close()


class NodeProxy:
    def __init__(self, client: Any, node_name: str, *, nodeport_addresses: Iterable[str] | None = None,
                 healthz_bind: str | None = "0.0.0.0:10256", engine: ThreadedEngine | None = None,
                 recorder: Recorder | None = None, udp_idle_timeout: float = 30.0,
                 sync_period: float = 30.0, retry_interval: float = 5.0) -> None:
        self.raw = client if isinstance(client, RawClient) else RawClient(client)
        self.node_name = node_name
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
        self.nodes = Informer(self.raw, NODES)
        self._informers = (self.services, self.slices, self.nodes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._ready = threading.Event()
        self._stopped = False
        self._timer: asyncio.TimerHandle | None = None
        self._healthz: HttpServer | None = None
        # loop-thread state
        self._owned: dict[ListenerKey, str] = {}  # listener -> service key
        self._health_checks: dict[str, _HealthCheckServer] = {}
        self._reported: dict[tuple[str, str], str] = {}  # (service, reason) -> last message
        self.syncs = 0

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
        for informer in self._informers:
            informer.add_handler(self._on_add, self._on_update, self._on_delete)
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
        if self._loop is not None:
            try:
                self.engine.call(self._shutdown)
            except RuntimeError:
                pass
        if self._own_recorder and isinstance(self.recorder, EventRecorder):
            self.recorder.stop()
        if self._own_engine:
            self.engine.stop()

    def _shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        engine = self.engine.engine
        for key in list(self._owned):
            engine.close_listener(*key)
        self._owned.clear()
        for hc in self._health_checks.values():
            hc.close()
        self._health_checks.clear()
        if self._healthz is not None:
            self._healthz.close()

    # -- informer threads --------------------------------------------------------------------
    def _on_add(self, obj: Any) -> None:
        self._changed()

    def _on_update(self, old: Any, new: Any) -> None:
        self._changed()

    def _on_delete(self, obj: Any) -> None:
        self._changed()

    def _changed(self) -> None:
        self.health.queued()
        if not self._scheduled and self._loop is not None and not self._stopped:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._sync)
            except RuntimeError:  # loop closed during shutdown
                pass

    # -- the loop ----------------------------------------------------------------------------
    def _schedule(self, delay: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, self._periodic)

    def _periodic(self) -> None:
        self._timer = None
        self._sync()

    def _sync(self) -> None:
        self._scheduled = False
        if self._stopped:
            return
        if not all(i.has_synced() for i in self._informers):
            self._schedule(0.05)
            return
        queued = self.health.begin_sync()
        try:
            failures = self._apply()
        except Exception:
            log.exception("%s: node proxy sync failed", self.node_name)
            self.health.requeue(queued)
            self._schedule(self.retry_interval)
            return
        self.syncs += 1
        self.health.updated()
        self._ready.set()
        self._schedule(self.retry_interval if failures else self.sync_period)

    def _apply(self) -> int:
        node = self.nodes.store.get(self.node_name)
        self.health.node_eligible = model.node_eligible(node)
        addresses = model.listen_addresses(node, self.nodeport_addresses)
        services = {model.service_key(s): s for s in self.services.store.list()}
        slices_of: dict[str, list[Any]] = {}
        for eps in self.slices.store.list():
            for owner_key in _slice_service(eps):
                slices_of.setdefault(owner_key, []).append(eps)
        plan = model.plan_node(services.values(), slices_of, self.node_name, addresses,
                               udp_idle_timeout=self.udp_idle_timeout)
        engine = self.engine.engine
        desired = dict(plan.listeners)
        for svc_key, message in plan.errors.items():
            # a bad annotation leaves the Service's listeners exactly as they were
            self._report(services[svc_key], "InvalidServiceConfiguration",
                         f"node proxy on {self.node_name} keeps the previous configuration: {message}",
                         once=True)
            for key, owner in self._owned.items():
                if owner == svc_key:
                    current = engine.config_of(*key)
                    if current is not None:
                        desired[key] = (svc_key, current)
        for svc_key, note in plan.notes.items():
            if self._reported.get((svc_key, "note")) != note:
                self._reported[(svc_key, "note")] = note
                log.warning("%s: %s", svc_key, note)
        for key in [k for k in self._owned if k not in desired]:
            engine.close_listener(*key)
            del self._owned[key]
        failures = 0
        for key, (svc_key, config) in desired.items():
            failures += not self._ensure_listener(engine, key, svc_key, config, services.get(svc_key))
        failures += self._sync_health_checks(plan, services, addresses)
        for svc_key, reason in list(self._reported):
            if svc_key not in services or (reason == "InvalidServiceConfiguration"
                                           and svc_key not in plan.errors):
                del self._reported[(svc_key, reason)]
        return failures

    def _ensure_listener(self, engine: Any, key: ListenerKey, svc_key: str, config: ListenerConfig,
                         svc: Mapping[str, Any] | None) -> bool:
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
                             f"node {self.node_name} failed to start nodePort {svc_key!r} on "
                             f"{ip}:{port}/{protocol.lower()}: {e.strerror or e}")
            return False
        self._owned[key] = svc_key
        self._reported.pop((svc_key, "FailedToStartNodePort"), None)
        log.info("%s: listening on nodePort %s:%d/%s (%d endpoints)", svc_key, ip, port, protocol,
                 len(config.backends))
        return True

    def _sync_health_checks(self, plan: model.NodePlan, services: Mapping[str, Any],
                            addresses: tuple[str, ...]) -> int:
        failures = 0
        for svc_key in list(self._health_checks):
            if svc_key in plan.errors:
                continue  # kept as it was, like the Service's listeners
            want = plan.health_checks.get(svc_key)
            if want is None or want.port != self._health_checks[svc_key].port:
                self._health_checks.pop(svc_key).close()
        bind_ips = addresses
        for svc_key, want in plan.health_checks.items():
            current = self._health_checks.get(svc_key)
            if current is not None:
                current.handler.local_endpoints = want.local_endpoints
                continue
            handler = ServiceHealth(self.health, want.namespace, want.name, want.local_endpoints)
            servers: list[HttpServer] = []
            try:
                for ip in bind_ips:
                    sock = bind_socket(ip, want.port, socket.SOCK_STREAM)
                    servers.append(HttpServer(sock, handler.handle, f"{svc_key} healthcheck"))
            except OSError as e:
                for server in servers:
                    server.sock.close()
                self._report(services[svc_key], "FailedToStartServiceHealthcheck",
                             f"node {self.node_name} failed to start healthcheck {svc_key!r} "
                             f"on port {want.port}: {e.strerror or e}")
                failures += 1
                continue
            assert self._loop is not None
            for server in servers:
                server.start(self._loop)
            self._health_checks[svc_key] = _HealthCheckServer(want.port, handler, servers)
            self._reported.pop((svc_key, "FailedToStartServiceHealthcheck"), None)
            log.info("%s: health check server on port %d (%d local endpoints)", svc_key, want.port,
                     want.local_endpoints)
        return failures

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
