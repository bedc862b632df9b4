"""The emulator as a server: HTTPS on loopback with a throw-away CA (trustme).

``AzureEmulator`` bundles the state, the faults, the call log and the server thread::

    with AzureEmulator() as arm:                  # https://127.0.0.1:<ephemeral port>
        arm.add_resource_group("rg")
        client = NetworkManagementClient(cred, arm.subscription, base_url=arm.url,
                                         connection_verify=arm.ca_file)

The TLS handshake runs on the request's own thread (not in ``accept``), so one slow client
cannot stall the others. Certificates cover ``127.0.0.1``, ``::1`` and ``localhost``.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from . import seeding
from .faults import Faults
from .state import DEFAULT_LOCATION, DEFAULT_SUBSCRIPTION, ArmState
from .wire import CallLog, WireOptions, make_handler


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    ssl_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-request are not the emulator's problem


class AzureEmulator:
    """An ARM emulator on ``https://<host>:<port>`` (port 0 = ephemeral)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 subscription: str = DEFAULT_SUBSCRIPTION, location: str = DEFAULT_LOCATION,
                 strict: bool = True, retry_after: int = 1, lro_seconds: float = 0.0,
                 tls: bool = True, cert_dir: str | None = None) -> None:
        self.state = ArmState(subscription=subscription, location=location, strict=strict,
                              lro_seconds=lro_seconds)
        self.faults = Faults()
        self.calls = CallLog()
        self.options = WireOptions(retry_after=retry_after)
        self.host = host
        self._port = port
        self._tls = tls
        self._cert_dir = cert_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        #: PEM file of the CA that signed the server certificate (``connection_verify=``)
        self.ca_file = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> AzureEmulator:
        server = _TLSServer((self.host, self._port), make_handler(self.state, self.faults, self.calls,
                                                                   self.options))
        if self._tls:
            server.ssl_context = self._ssl_context()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="arm-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> AzureEmulator:
        return self.start() if self._server is None else self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _ssl_context(self) -> ssl.SSLContext:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
        directory = self._cert_dir
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ccm-arm-")
            directory = self._tmp.name
        os.makedirs(directory, exist_ok=True)
        self.ca_file = os.path.join(directory, "arm-emulator-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        return ctx

    # ------------------------------------------------------------------ facts

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the emulator first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}"

    @property
    def subscription(self) -> str:
        return self.state.default_subscription

    def reset(self) -> None:
        """Empty state, no faults, no recorded calls (between tests sharing one emulator)."""
        self.state.reset()
        self.faults.clear()
        self.calls.clear()

    # ------------------------------------------------------------------ seeding shortcuts

    def add_resource_group(self, name: str, location: str | None = None) -> str:
        return self.state.add_resource_group(name, location)

    def add_virtual_network(self, resource_group: str, name: str = "kubernetes-vnet", *,
                            address_prefixes: Sequence[str] = ("10.240.0.0/16",),
                            subnets: dict[str, str] | None = None) -> str:
        return seeding.add_virtual_network(self.state, resource_group, name,
                                           address_prefixes=address_prefixes, subnets=subnets)

    def add_virtual_machine(self, resource_group: str, name: str, subnet_id: str,
                            **kw: Any) -> seeding.VirtualMachine:
        return seeding.add_virtual_machine(self.state, resource_group, name, subnet_id, **kw)
