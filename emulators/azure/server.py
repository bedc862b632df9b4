"""The emulator as a server: HTTPS on loopback with a throw-away CA (trustme).

``AzureEmulator`` bundles the state, the faults, the call log and the server thread::

    with AzureEmulator() as arm:                  # https://127.0.0.1:<ephemeral port>
        arm.add_resource_group("rg")
        client = NetworkManagementClient(cred, arm.subscription, base_url=arm.url,
                                         connection_verify=arm.ca_file)

The server is ``emulators.httpserver``'s (the TLS handshake runs on the request's own thread, so
one slow client cannot stall the others). Certificates cover ``127.0.0.1``, ``::1`` and
``localhost``.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from emulators.httpserver import HttpEmulator

from . import seeding
from .faults import Faults
from .state import DEFAULT_LOCATION, DEFAULT_SUBSCRIPTION, ArmState
from .wire import CallLog, WireOptions, make_handler


class AzureEmulator(HttpEmulator):
    """An ARM emulator on ``https://<host>:<port>`` (port 0 = ephemeral)."""

    thread_name = "arm-emulator"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 subscription: str = DEFAULT_SUBSCRIPTION, location: str = DEFAULT_LOCATION,
                 strict: bool = True, retry_after: int = 1, lro_seconds: float = 0.0,
                 tls: bool = True, cert_dir: str | None = None) -> None:
        self.state = ArmState(subscription=subscription, location=location, strict=strict,
                              lro_seconds=lro_seconds)
        self.faults = Faults()
        self.calls = CallLog()
        self.options = WireOptions(retry_after=retry_after)
        super().__init__(host, port)
        self._tls = tls
        self._cert_dir = cert_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        #: PEM file of the CA that signed the server certificate (``connection_verify=``)
        self.ca_file = ""

    # ------------------------------------------------------------------ lifecycle

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return make_handler(self.state, self.faults, self.calls, self.options)

    def stop(self) -> None:
        super().stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
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
