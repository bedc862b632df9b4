"""ARM over HTTP: routing, bearer auth, ``api-version``, JSON, LRO headers, ARM error bodies.

This module only translates: it reads the request, asks :class:`~.state.ArmState`, and renders
the answer as ARM does (see ``../shared/reference/emulators.md`` §4.3 for what the SDK expects):

* PUT -> 201 (created) / 200 (replaced) with the resource body (``provisioningState:
  Updating``), ``Azure-AsyncOperation`` and ``Retry-After``; the SDK polls the operation and
  then GETs the resource.
* DELETE -> 202 with ``Azure-AsyncOperation`` and ``Location``, or 204 when there was nothing.
* PATCH (tags) -> 200 with the resource.
* Errors -> ``{"error": {"code", "message", "details"}}`` with ARM's status; 429 and 5xx carry
  ``Retry-After``.

A response is written with one write (headers and body together, ``emulators.httpserver``) and the socket has
TCP_NODELAY, so keep-alive requests do not stall on Nagle + delayed ACK (~45 ms each).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from emulators import httpserver

from . import errors
from .faults import MUTATING_METHODS, Faults
from .ids import ResourceId
from .registry import API_VERSIONS
from .state import ArmState, Operation

#: (route name, pattern); the handler method is ``_route_<name>``. Routes are data, as in moto.
ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("operation", r"^/subscriptions/(?P<sub>[^/]+)/providers/(?P<ns>Microsoft\.Network)"
                      r"/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)$"),
        ("operation_result", r"^/subscriptions/(?P<sub>[^/]+)/providers/(?P<ns>Microsoft\.Network)"
                             r"/locations/(?P<loc>[^/]+)/operationResults/(?P<op>[^/]+)$"),
        ("resource_group", r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)$"),
        ("resource", r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
                     r"/providers/(?P<ns>[^/]+)/(?P<rest>.+?)/?$"),
        ("subscription_list", r"^/subscriptions/(?P<sub>[^/]+)/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)$"),
    )
)


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """One request the emulator answered (for call counting in tests and benchmarks)."""

    method: str
    path: str
    status: int

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING_METHODS


@dataclasses.dataclass
class WireOptions:
    #: whole seconds the answers' ``Retry-After`` asks for. The SDK parses the header as an int
    #: (a fraction raises), and azure-core's stock poller treats ``0`` as "absent" and waits its
    #: ``polling_interval`` (30 s by default): a client that wants fast polls against ``0``
    #: must honour it (the ccm adapter does). Tests use 0, people get 1.
    retry_after: int = 1
    #: entries per LIST page before a ``nextLink``
    page_size: int = 100
    #: accept requests without a bearer token (never: the SDK's bearer policy is in the loop)
    allow_anonymous: bool = False


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def all(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def mutating(self) -> list[Call]:
        return [c for c in self.all() if c.mutating]

    def reads(self) -> list[Call]:
        """GETs of resources (operation polls excluded: they are the SDK's, not the caller's)."""
        return [c for c in self.all() if not c.mutating and "/operations/" not in c.path.lower()
                and "/operationresults/" not in c.path.lower()]


def make_handler(state: ArmState, faults: Faults, calls: CallLog, options: WireOptions,
                 ) -> type[BaseHTTPRequestHandler]:
    """A request-handler class bound to one emulator's state."""

    class ArmHandler(_ArmHandler):
        pass

    ArmHandler.state = state
    ArmHandler.faults = faults
    ArmHandler.calls = calls
    ArmHandler.options = options
    return ArmHandler


class _ArmHandler(httpserver.Handler):
    server_version = "ccm-arm-emulator"
    sys_version = ""

    state: ArmState
    faults: Faults
    calls: CallLog
    options: WireOptions

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_POST(self) -> None:
        self._serve("POST")

    # ------------------------------------------------------------------ dispatch

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self._query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self._request_id = str(uuid.uuid4())
        raw = self.read_body()
        status = 500
        try:
            self._authenticate()
            decision = self.faults.decide(method, path)
            if decision.delay:
                time.sleep(decision.delay)
            fault = decision.fault
            if fault is not None and fault.when == "before":
                raise self._fault_error(fault)
            self._fail_operation = (errors.arm_error(fault.status, fault.code, fault.message)
                                    if fault is not None and fault.when == "operation" else None)
            status, headers, body = self._dispatch(method, path, raw)
            late = fault if fault is not None and fault.when == "after" else self.faults.applied(method, path, status)
            if late is not None:
                raise self._fault_error(late)
        except errors.ArmError as exc:
            status, headers, body = exc.status, dict(exc.headers), exc.body()
            if status in (429, 500, 502, 503, 504) and "Retry-After" not in headers:
                headers["Retry-After"] = self._retry_after()
        except Exception as exc:  # a bug in the emulator must still answer like a server
            status, headers, body = 500, {}, errors.arm_error(
                500, "InternalServerError", f"Emulator error: {type(exc).__name__}: {exc}").body()
        self.calls.add(Call(method, path, status))  # before answering: the client may look at once
        self._respond(status, headers, body)

    def _dispatch(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
        for name, pattern in ROUTES:
            m = pattern.match(path)
            if m:
                handler: Callable[..., tuple[int, dict[str, str], Any]] = getattr(self, f"_route_{name}")
                return handler(method, m.groupdict(), raw)
        raise errors.InvalidResourceType(f"No route for {method} {path} in the emulator.")

    # ------------------------------------------------------------------ routes

    def _route_resource(self, method: str, g: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], Any]:
        self._check_api_version(g["ns"], g["rest"].split("/")[0])
        parts = g["rest"].split("/")
        base = f"/subscriptions/{g['sub']}/resourceGroups/{g['rg']}/providers/{g['ns']}"
        if len(parts) == 1:
            if method != "GET":
                raise errors.MethodNotAllowed(f"{method} is not allowed on a collection.")
            return self._page(self.state.list(g["sub"], g["rg"], f"{g['ns']}/{parts[0]}"))
        if len(parts) % 2:
            if method != "GET":
                raise errors.MethodNotAllowed(f"{method} is not allowed on a collection.")
            parent = ResourceId.parse(f"{base}/{'/'.join(parts[:-1])}")
            assert parent is not None
            return self._page(self.state.list_children(parent, parts[-1]))
        rid = ResourceId.parse(f"{base}/{g['rest']}")
        if rid is None:
            raise errors.InvalidRequestFormat(f"Malformed resource ID {base}/{g['rest']}.")
        if method == "GET":
            got = self.state.get(rid)
            if rid.type_key == "microsoft.compute/virtualmachines" and \
                    self._query.get("$expand", "").lower() != "instanceview":
                got.get("properties", {}).pop("instanceView", None)  # ARM shows it on request only
            return 200, {}, got
        if method == "PUT":
            body, created, op = self.state.put(
                rid, self._json(raw), if_match=self.headers.get("If-Match"),
                if_none_match=self.headers.get("If-None-Match"), fail=self._fail_operation)
            return (201 if created else 200), self._async_headers(op, rid, location=False), body
        if method == "PATCH":
            return 200, {}, self.state.patch_tags(rid, self._json(raw))
        if method == "DELETE":
            deleted = self.state.delete(rid, if_match=self.headers.get("If-Match"), fail=self._fail_operation)
            if deleted is None:
                return 204, {}, None
            return 202, self._async_headers(deleted, rid, location=True), None
        raise errors.MethodNotAllowed(f"{method} is not supported on {rid.type}.")

    def _route_subscription_list(self, method: str, g: dict[str, str], raw: bytes,
                                 ) -> tuple[int, dict[str, str], Any]:
        self._check_api_version(g["ns"], g["type"])
        if method != "GET":
            raise errors.MethodNotAllowed(f"{method} is not allowed on a collection.")
        return self._page(self.state.list(g["sub"], None, f"{g['ns']}/{g['type']}"))

    def _route_resource_group(self, method: str, g: dict[str, str], raw: bytes,
                              ) -> tuple[int, dict[str, str], Any]:
        self._check_api_version("Microsoft.Resources", "resourceGroups")
        if method != "GET":
            raise errors.MethodNotAllowed("The emulator serves resource groups read-only.")
        with self.state.lock:
            rg = self.state.resource_groups.get((g["sub"].lower(), g["rg"].lower()))
        if rg is None:
            raise errors.ResourceGroupNotFound(g["rg"])
        return 200, {}, {
            "id": f"/subscriptions/{rg['subscription']}/resourceGroups/{rg['name']}",
            "name": rg["name"], "type": "Microsoft.Resources/resourceGroups", "location": rg["location"],
            "properties": {"provisioningState": "Succeeded"},
        }

    def _route_operation(self, method: str, g: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], Any]:
        self._check_api_version(g["ns"], "locations/operations")
        op = self.state.operation(g["op"])
        body: dict[str, Any] = {"id": self._operation_path(op, g["loc"], "operations"),
                                "name": op.id, "status": op.status}
        headers: dict[str, str] = {}
        if op.status == "InProgress":
            headers["Retry-After"] = self._retry_after()
        if op.error is not None and op.done:
            body["error"] = {"code": op.error.code, "message": op.error.message}
        return 200, headers, body

    def _route_operation_result(self, method: str, g: dict[str, str], raw: bytes,
                                ) -> tuple[int, dict[str, str], Any]:
        self._check_api_version(g["ns"], "locations/operationResults")
        op = self.state.operation(g["op"])
        if op.status == "InProgress":
            return 202, {"Location": self._base() + self._operation_path(op, g["loc"], "operationResults"),
                         "Retry-After": self._retry_after()}, None
        if op.error is not None:
            raise errors.arm_error(op.error.status, op.error.code, op.error.message)
        return 204, {}, None

    # ------------------------------------------------------------------ helpers

    def _authenticate(self) -> None:
        if self.options.allow_anonymous:
            return
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.AuthenticationFailed(
                "Authentication failed. The 'Authorization' header is missing or not a bearer token.",
                headers={"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/'
                                             'common", error="invalid_token", error_description='
                                             '"The authentication failed because of missing '
                                             "'Authorization' header.\""})

    def _check_api_version(self, namespace: str, rtype: str) -> None:
        version = self._query.get("api-version")
        if not version:
            raise errors.MissingApiVersionParameter()
        supported = API_VERSIONS.get(namespace.lower())
        if supported is None:
            raise errors.InvalidResourceType(f"The resource namespace '{namespace}' is not served by the emulator.")
        if version not in supported:
            raise errors.InvalidApiVersionParameter(version, f"{namespace}/{rtype}", list(supported))

    def _json(self, raw: bytes) -> Any:
        try:
            return httpserver.json_or_none(raw)
        except ValueError as exc:
            raise errors.InvalidRequestFormat(f"Cannot parse the request: {exc}.") from None

    def _page(self, items: list[Any]) -> tuple[int, dict[str, str], Any]:
        try:
            start = int(self._query.get("$skiptoken") or 0)
        except ValueError:
            raise errors.InvalidParameter("Invalid $skiptoken.") from None
        size = max(1, self.options.page_size)
        body: dict[str, Any] = {"value": items[start:start + size]}
        if start + size < len(items):
            query = "&".join(f"{k}={v}" for k, v in self._query.items() if k != "$skiptoken")
            body["nextLink"] = f"{self._base()}{urlsplit(self.path).path}?{query}&$skiptoken={start + size}"
        return 200, {}, body

    def _base(self) -> str:
        host = self.headers.get("Host")
        if not host:
            address: Any = self.server.server_address
            host = f"{address[0]}:{address[1]}"
        return f"https://{host}"

    def _operation_path(self, op: Operation, location: str, kind: str) -> str:
        return (f"/subscriptions/{self._subscription_of(op)}/providers/Microsoft.Network/locations/"
                f"{location}/{kind}/{op.id}")

    def _subscription_of(self, op: Operation) -> str:
        rid = ResourceId.parse(op.resource_key)
        return rid.subscription if rid else self.state.default_subscription

    def _async_headers(self, op: Operation, rid: ResourceId, *, location: bool) -> dict[str, str]:
        try:
            loc = self.state.location_of_group(rid)
        except KeyError:
            loc = self.state.default_location
        top = self.state.resources.get(rid.top.key)
        if top is not None and top.get("location"):
            loc = top["location"]
        version = self._query.get("api-version", "")
        headers = {
            "Azure-AsyncOperation": f"{self._base()}{self._operation_path(op, loc, 'operations')}"
                                    f"?api-version={version}",
            "Retry-After": self._retry_after(),
        }
        if location:
            headers["Location"] = (f"{self._base()}{self._operation_path(op, loc, 'operationResults')}"
                                   f"?api-version={version}")
        return headers

    def _retry_after(self) -> str:
        return str(int(self.options.retry_after))

    def _fault_error(self, fault: Any) -> errors.ArmError:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        return errors.arm_error(fault.status, fault.code, fault.message, headers)

    def _respond(self, status: int, headers: dict[str, str], body: Any) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [("Date", self.date_time_string()), ("Server", self.server_version),
                 ("x-ms-request-id", self._request_id),
                 ("x-ms-correlation-request-id", self.headers.get("x-ms-client-request-id") or self._request_id),
                 ("Content-Length", str(len(payload))), ("Cache-Control", "no-cache")]
        if payload:
            lines.append(("Content-Type", "application/json; charset=utf-8"))
        self.respond(status, [*lines, *headers.items()], payload)
