"""HTTP for the emulator: Compute Engine's REST paths, JSON bodies, Google's error envelope.

Requests under ``/compute/v1/`` are matched against the route table, checked (optionally)
against the discovery document, passed through fault injection and served by the state. The
reply is written in one write on a TCP_NODELAY socket (``emulators.httpserver``). A small admin
API under ``/_emulator/`` lets people outside the process seed instances, inject faults, list
what is held and reset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulators import httpserver
from emulators.gce import routes
from emulators.gce.errors import GoogleError, Invalid, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from emulators.gce.emulator import GceEmulator

PREFIX = "/compute/v1/"
ADMIN = "/_emulator/"


@dataclass(frozen=True)
class Call:
    """One API call as the emulator saw it (for call counting and assertions)."""

    method_id: str
    mutating: bool
    status: int


class Handler(httpserver.Handler):
    server: httpserver.ThreadedServer

    def _send(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.respond(status, [("Content-Type", "application/json; charset=UTF-8"),
                              ("Content-Length", str(len(data)))], data)

    def _body(self) -> Any:
        raw = self.read_body()
        try:
            return httpserver.json_or_none(raw)
        except ValueError:
            raise Invalid(f"Invalid JSON payload received. {raw[:60]!r}") from None

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        emu: GceEmulator = self.server.owner
        try:
            body = self._body()
            if url.path.startswith(ADMIN):
                status, out = emu.admin(self.command, url.path[len(ADMIN):], body)
                self._send(status, out)
                return
            if not url.path.startswith(PREFIX):
                raise NotFound(f"The requested URL {url.path} was not found on this server.")
            path = unquote(url.path[len(PREFIX):])
            try:
                found = routes.match(self.command, path)
            except routes.WrongMethod:
                raise MethodNotAllowed(f"{self.command} is not allowed on {url.path}") from None
            if found is None:
                raise NotFound(f"The requested URL {url.path} was not found on this server.")
            route, params = found
        except GoogleError as exc:
            self._send(exc.status, exc.body())
            return
        status, out = emu.serve(route, params, query, body)
        self._send(status, out)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _dispatch
