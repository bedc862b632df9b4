"""HTTP for the emulator: one port, four services by path prefix, JSON in and out.

Requests are matched against the route table (``routes.Table``), then handed to the emulator,
which authenticates, injects faults and runs the handler under its state lock. Replies are written
in one write on a TCP_NODELAY socket (HTTP/1.1 keep-alive, ``emulators.httpserver``). ``/_emulator/`` is the owner's admin API.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from emulators import httpserver
from emulators.openstack.errors import ApiError, BadRequest, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from emulators.openstack.emulator import OpenStackEmulator

ADMIN = "/_emulator/"
#: path prefix -> service (for the error format of answers no route claims)
PREFIXES = (("/identity", "identity"), ("/load-balancer", "load-balancer"), ("/networking", "network"),
            ("/compute", "compute"))
MAX_BODY = 4 * 1024 * 1024


def service_of(path: str) -> str:
    return next((svc for prefix, svc in PREFIXES if path == prefix or path.startswith(prefix + "/")), "load-balancer")


def normalise(path: str) -> str:
    """Octavia answers on ``/v2`` and ``/v2.0`` alike; trailing slashes do not matter."""
    path = path.rstrip("/") or "/"
    if path.startswith("/load-balancer/v2.0"):
        path = "/load-balancer/v2" + path[len("/load-balancer/v2.0"):]
    return path


class Handler(httpserver.Handler):
    server: httpserver.ThreadedServer
    max_body = MAX_BODY

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None or status == 204 else json.dumps(body).encode()
        head = [("Content-Type", "application/json")] if data else []
        self.respond(status, [*head, ("Content-Length", str(len(data))), *(headers or {}).items()], data)

    def _body(self) -> Any:
        try:
            return httpserver.json_or_none(self.read_body())
        except httpserver.BodyTooLarge:
            raise BadRequest("Request body too large.") from None
        except ValueError:
            raise BadRequest("Malformed JSON in request body.") from None

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = normalise(unquote(url.path))
        query = parse_qs(url.query, keep_blank_values=True)
        emu: OpenStackEmulator = self.server.owner
        service = service_of(path)
        try:
            body = self._body()
            if url.path.startswith(ADMIN):
                status, out = emu.admin(self.command, url.path[len(ADMIN):].strip("/"), body)
                self._send(status, out)
                return
            found = emu.table.match(self.command, path)
            if isinstance(found, str):
                raise MethodNotAllowed(f"The method {self.command} is not allowed for this resource.",
                                       headers={"Allow": found})
            if found is None:
                raise NotFound(f"The resource could not be found: {url.path}")
            route, params = found
        except ApiError as exc:
            self._send(exc.status, exc.render(service), exc.headers)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, reply_headers = emu.serve(route, params, query=query, body=body, headers=headers, path=path)
        self._send(status, out, reply_headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch
