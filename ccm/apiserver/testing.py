"""Run the API server in a background thread for tests and the demo.

``embedded_apiserver()`` starts in a few milliseconds on an ephemeral loopback port and
tears everything down on exit: open watches are closed, the listening socket and the
event-loop thread are gone when the context manager returns.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

import kubernetes.client
import yaml
from aiohttp import web

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
    """A running API server; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, server: APIServer, host: str = "127.0.0.1", port: int = 0,
                 header_timeout: float = 32.0) -> None:
        self.server = server
        self._host, self._port = host, port
        self._header_timeout = header_timeout
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
        self.url = f"http://{self._host}:{port}"
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
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True, backlog=1024)
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

    def api_client(self) -> kubernetes.client.ApiClient:
        """A new official-client ApiClient for this server (bearer token included)."""
        cfg = kubernetes.client.Configuration()
        cfg.host = self.url
        if self.server.token is not None:
            cfg.api_key = {"authorization": f"Bearer {self.server.token}"}
        return kubernetes.client.ApiClient(cfg)

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> str:
        user: dict[str, Any] = {"token": self.server.token} if self.server.token is not None else {}
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "ccm",
            "clusters": [{"name": "ccm", "cluster": {"server": self.url}}],
            "users": [{"name": "ccm", "user": user}],
            "contexts": [{"name": "ccm", "context": {"cluster": "ccm", "user": "ccm", "namespace": "default"}}],
        }
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
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

    async def _shutdown(self) -> None:
        self.server.store.drop_watches()
        if self._runner is not None:
            await self._runner.cleanup()


@contextmanager
def embedded_apiserver(*, allow_loopback_endpoints: bool = False, watch_history: int = 1000,
                       bookmark_interval: float = 1.0, token: str | None = None,
                       service_cidr: str = "10.96.0.0/12", host: str = "127.0.0.1",
                       port: int = 0, header_timeout: float = 32.0, **server_options: Any,
                       ) -> Iterator[EmbeddedAPIServer]:
    """An API server on loopback for the duration of the ``with`` block (``server_options`` go to
    :class:`APIServer`: ``start_revision``, ``max_request_bytes``, ``body_timeout``)."""
    options = Options(allow_loopback_endpoints=allow_loopback_endpoints, service_cidr=service_cidr)
    server = APIServer(options=options, watch_history=watch_history, bookmark_interval=bookmark_interval,
                       token=token, **server_options)
    embedded = EmbeddedAPIServer(server, host, port, header_timeout).start()
    try:
        yield embedded
    finally:
        embedded.stop()
