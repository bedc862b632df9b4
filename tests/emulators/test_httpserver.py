"""The HTTP plumbing the GCE, ARM and OpenStack emulators share (``emulators/httpserver.py``); each
emulator's own tests cover its routes over it, the ARM tests its TLS."""

from __future__ import annotations

import http.client
import json
import socket
import ssl

import pytest

from emulators import httpserver
from emulators.azure import AzureEmulator
from emulators.openstack.emulator import OpenStackEmulator
from emulators.openstack.wire import MAX_BODY


class _Echo(httpserver.Handler):
    max_body = 16

    def do_POST(self) -> None:
        try:
            body = self.read_body()
        except httpserver.BodyTooLarge as exc:
            data = str(exc).encode()
            self.respond(413, [("Content-Length", str(len(data)))], data)
            return
        self.respond(200, [("Content-Length", str(len(body)))], body)


class _EchoEmulator(httpserver.HttpEmulator):
    def handler_class(self) -> type[httpserver.Handler]:
        return _Echo


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_keep_alive_body_limit_and_stop() -> None:
    with _EchoEmulator() as emu:
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        for payload in (b"one", b"two"):  # one connection, two requests: keep-alive
            conn.request("POST", "/", body=payload)
            r = conn.getresponse()
            assert (r.status, r.reason, r.read()) == (200, "OK", payload)
        conn.request("POST", "/", body=b"x" * 17)
        r = conn.getresponse()
        assert (r.status, r.read()) == (413, b"request body of 17 bytes (at most 16)")
        conn.close()
        port = emu.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback in this network namespace")
def test_ipv6_url_is_bracketed() -> None:
    with _EchoEmulator(host="::1") as emu:
        assert emu.url == f"http://[::1]:{emu.port}"
        conn = http.client.HTTPConnection("::1", emu.port, timeout=5)
        conn.request("POST", "/", body=b"v6")
        assert conn.getresponse().read() == b"v6"
        conn.close()
    with AzureEmulator(host="::1") as arm:  # TLS on IPv6: the certificate names ::1
        assert arm.url == f"https://[::1]:{arm.port}"
        conn = http.client.HTTPSConnection("::1", arm.port, timeout=5,
                                           context=ssl.create_default_context(cafile=arm.ca_file))
        conn.request("GET", f"/subscriptions/{arm.subscription}/resourceGroups?api-version=2021-04-01")
        assert conn.getresponse().status == 401  # the handshake verified; no bearer token
        conn.close()


def test_openstack_refuses_an_oversized_body_in_its_own_error_format() -> None:
    with OpenStackEmulator() as emu:
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        conn.putrequest("POST", "/load-balancer/v2/lbaas/loadbalancers")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()  # the refusal comes from the length alone: no byte of the body is read
        r = conn.getresponse()
        assert r.status == 400
        assert "Request body too large." in json.dumps(json.loads(r.read()))
        conn.close()
