"""Run the API server in a background thread for tests and the demo.

``embedded_apiserver()`` starts in a few milliseconds on an ephemeral loopback port and
tears everything down on exit: open watches are closed, the listening socket and the
event-loop thread are gone when the context manager returns.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

import kubernetes.client
import yaml
from aiohttp import web

from ccm.apiserver.auth.users import TokenAuthenticator
from ccm.apiserver.server import APIServer
from ccm.apiserver.strategies import Options

T = TypeVar("T")


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is an optional extra
        return asyncio.new_event_loop()


class EmbeddedAPIServer:
    """A running API server; ``url`` is ``http://127.0.0.1:PORT`` (``https://`` with ``tls``)."""

    def __init__(self, server: APIServer, host: str = "127.0.0.1", port: int = 0,
                 header_timeout: float = 32.0, tls: bool = False) -> None:
        self.server = server
        self._host, self._port = host, port
        self._header_timeout = header_timeout
        #: HTTPS with a self-signed CA made at start (kubectl sends bearer tokens only over TLS)
        self._tls: ssl.SSLContext | None = None
        self.ca_pem: bytes | None = None
        self.ca_file: str | None = None
        if tls:
            from ccm.tls import server_context

            self._tls, self.ca_pem = server_context(hosts=("localhost",), ips=(host,) if host != "0.0.0.0" else ())
            self._ca_dir = tempfile.mkdtemp(prefix="ccm-apiserver-ca-")
            self.ca_file = os.path.join(self._ca_dir, "ca.crt")
            assert self.ca_pem is not None
            write_private(self.ca_file, self.ca_pem.decode())
        self._loop = _new_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="apiserver", daemon=True)
        self._stopped = False
        self.url = ""

    @property
    def token(self) -> str | None:
        return self.server.token

    def start(self) -> EmbeddedAPIServer:
        self._thread.start()
        self._serve()
        return self

    def _serve(self) -> None:
        port = self._port = self.call(self._start)
        self.url = f"{'https' if self._tls else 'http'}://{self._host}:{port}"
        self.server.server_address = f"{self._host}:{port}"

    async def _start(self) -> int:
        # handler_cancellation: a client that goes away cancels its watch at once, so its
        # watcher is unregistered instead of lingering until the next event fails to send.
        # keepalive_timeout is the header-read deadline too: aiohttp closes a connection that
        # has not completed a request within it of connecting (or of its last response), so
        # half-sent requests (slowloris) cannot hold the server (kube-apiserver: 32 s).
        self._runner = web.AppRunner(self.server.app(), access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0, handler_cancellation=True,
                                     keepalive_timeout=self._header_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True, backlog=1024,
                           ssl_context=self._tls)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        return int(sockets[0].getsockname()[1])

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` (a coroutine function or a plain one) on the server loop and wait."""
        async def run() -> Any:
            result = fn(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        fut: Future[Any] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return fut.result(timeout=30)

    def api_client(self, token: str | None = None) -> kubernetes.client.ApiClient:
        """A new official-client ApiClient for this server (with ``token``, else the admin token if any)."""
        cfg = kubernetes.client.Configuration()
        cfg.host = self.url
        token = token if token is not None else self.server.token
        if token is not None:
            cfg.api_key = {"authorization": f"Bearer {token}"}
        if self.ca_file is not None:
            cfg.ssl_ca_cert = self.ca_file
        return kubernetes.client.ApiClient(cfg)

    def write_kubeconfig(self, path: str | os.PathLike[str], token: str | None = None) -> str:
        """A kubeconfig for this server, written 0600: it may hold a bearer token."""
        token = token if token is not None else self.server.token
        user: dict[str, Any] = {"token": token} if token is not None else {}
        cluster: dict[str, Any] = {"server": self.url}
        if self.ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "ccm",
            "clusters": [{"name": "ccm", "cluster": cluster}],
            "users": [{"name": "ccm", "user": user}],
            "contexts": [{"name": "ccm", "context": {"cluster": "ccm", "user": "ccm", "namespace": "default"}}],
        }
        path = os.fspath(path)
        write_private(path, yaml.safe_dump(config))
        return path

    def drop_watches(self) -> None:
        """Close every open watch stream (clients must reconnect)."""
        self.call(self.server.store.drop_watches)

    def open_watch_count(self) -> int:
        """Watch streams open right now (lets tests wait for a client to reconnect)."""
        return int(self.call(lambda: len(self.server.store.watchers())))

    def write_count(self) -> int:
        return self.server.write_count

    def request_count(self) -> int:
        return self.server.request_count

    def pause(self) -> None:
        """Stop serving (connections refused, open watches cut) but keep the state and the port."""
        self.call(self._shutdown)
        self._runner = None

    def resume(self, server: APIServer | None = None) -> None:
        """Serve again on the same port: the same state, or ``server``'s (an API server that
        restarted having lost its history, or restored with a newer revision)."""
        if server is not None:
            self.server = server
        self._serve()

    def restart(self, server: APIServer | None = None) -> None:
        self.pause()
        self.resume(server)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            try:
                self.call(self._shutdown)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        if not self._loop.is_closed() and not self._loop.is_running():
            self._loop.close()
        if self.ca_file is not None:
            shutil.rmtree(self._ca_dir, ignore_errors=True)

    async def _shutdown(self) -> None:
        self.server.store.drop_watches()
        if self._runner is not None:
            await self._runner.cleanup()


def write_private(path: str, text: str) -> None:
    """Write ``text`` readable by the owner only (0600, also when the file existed with wider modes)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


@contextmanager
def embedded_apiserver(*, allow_loopback_endpoints: bool = False, watch_history: int = 1000,
                       bookmark_interval: float = 1.0, token: str | None = None,
                       service_cidr: str = "10.96.0.0/12", host: str = "127.0.0.1",
                       port: int = 0, header_timeout: float = 32.0, tokens: TokenAuthenticator | None = None,
                       authorization_mode: str = "AlwaysAllow", tls: bool = False, cluster_objects: bool = False,
                       **server_options: Any) -> Iterator[EmbeddedAPIServer]:
    """An API server on loopback for the duration of the ``with`` block (``server_options`` go to
    :class:`APIServer`: ``start_revision``, ``max_request_bytes``, ``body_timeout``, ``anonymous``).
    ``cluster_objects``: start with the ``kubernetes`` Service and ``default`` ServiceAccounts."""
    options = Options(allow_loopback_endpoints=allow_loopback_endpoints, service_cidr=service_cidr,
                      cluster_objects=cluster_objects)
    server = APIServer(options=options, watch_history=watch_history, bookmark_interval=bookmark_interval,
                       token=token, tokens=tokens, authorization_mode=authorization_mode, **server_options)
    embedded = EmbeddedAPIServer(server, host, port, header_timeout, tls=tls).start()
    try:
        yield embedded
    finally:
        embedded.stop()
