"""The HTTP layer: routing, verbs, content types, watch streaming, authentication and authorization.

Paths follow kube-apiserver: ``/api/v1/[namespaces/NS/]PLURAL[/NAME[/status]]`` and
``/apis/GROUP/VERSION/...``; ``?watch=true`` (or the legacy ``/watch/`` prefix) turns a list
into a stream of newline-delimited JSON events over chunked transfer encoding.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web

from ccm.apiserver import decoding, discovery, errors, listoptions, tables
from ccm.apiserver.auth.gate import ADMIN, AuthGate
from ccm.apiserver.auth.rbac import AlwaysAllow, Authorizer, RBACAuthorizer, StorePolicy, bootstrap_policy
from ccm.apiserver.auth.users import TokenAuthenticator, User
from ccm.apiserver.errors import APIError
from ccm.apiserver.protobuf import codec as protobuf
from ccm.apiserver.registry import APPLY_PATCH, MERGE_PATCH, Registry, Selection
from ccm.apiserver.ssa import fieldmanager
from ccm.apiserver.store import Entry, Store, Watcher, dumps
from ccm.apiserver.strategies import Options, Strategy, all_strategies
from ccm.apiserver.tokens import TokenIssuer, service_account_verifier

log = logging.getLogger(__name__)

JSON = "application/json"
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DRY_RUN = web.RequestKey("dry_run", bool)
_WARNINGS = web.RequestKey("warnings", list)
_USER = web.RequestKey("user", User)
AUTHORIZATION_MODES = ("AlwaysAllow", "RBAC")
_NOT_FOUND = APIError(404, "the server could not find the requested resource", "NotFound", {})
_OPTIONS_KIND = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}


class Route(NamedTuple):
    strategy: Strategy
    namespace: str | None
    name: str | None
    subresource: str | None
    legacy_watch: bool


class APIServer:
    """All server state plus the aiohttp application that serves it."""

    def __init__(self, *, options: Options | None = None, watch_history: int = 1000,
                 bookmark_interval: float = 1.0, token: str | None = None, start_revision: int = 1,
                 max_request_bytes: int = decoding.MAX_REQUEST_BYTES, body_timeout: float = 60.0,
                 tokens: TokenAuthenticator | None = None, authorization_mode: str = "AlwaysAllow",
                 anonymous: bool | None = None) -> None:
        self.options = options or Options()
        self.store = Store(history=watch_history, start_revision=start_revision)
        self.strategies = all_strategies(self.options)
        self.registry = Registry(self.store, self.strategies)
        #: signs the service-account tokens of ``serviceaccounts/NAME/token`` (and verifies them back)
        self.token_issuer = TokenIssuer()
        self.bookmark_interval = bookmark_interval
        self.token = token
        #: request bodies over this are a 413 (read no further); slower than body_timeout, a 504
        self.max_request_bytes = max_request_bytes
        self.body_timeout = body_timeout
        self.gate = self._auth(token, tokens, authorization_mode, anonymous)
        self.request_count = 0
        self.write_count = 0
        self.server_address = "127.0.0.1:0"
        self._by_gv = discovery.group_versions(self.strategies)
        self._routes: dict[tuple[str, str], Strategy] = {(s.api_version, s.plural): s for s in self.strategies}
        self._static: dict[str, Callable[[], Any]] = {
            "/version": lambda: discovery.VERSION,
            "/api": lambda: discovery.api_versions(self.server_address),
            "/apis": lambda: discovery.group_list(self.strategies),
            "/openapi/v3": lambda: discovery.openapi_v3_root(self.strategies),
        }
        for gv, strategies in self._by_gv.items():
            prefix = "/api/" if gv == "v1" else "/apis/"
            self._static[prefix + gv] = functools.partial(discovery.resource_list, gv, strategies)
            self._static["/openapi/v3" + prefix + gv] = functools.partial(
                discovery.openapi_v3_group_version, gv, strategies)
        for s in self.strategies:
            if s.group:
                self._static[f"/apis/{s.group}"] = functools.partial(discovery.group, self.strategies, s.group)

    # ------------------------------------------------------------------ authn / authz

    def _auth(self, token: str | None, tokens: TokenAuthenticator | None, mode: str,
              anonymous: bool | None) -> AuthGate:
        """Who may do what: ``--token`` is an admin, ``--token-auth-file`` users, the service-account
        tokens this server issues; RBAC or AlwaysAllow."""
        def items(bucket: str, namespace: str | None) -> list[dict[str, Any]]:
            return [e.obj for _, e in self.store.items(bucket, namespace)]

        def get(bucket: str, key: str) -> dict[str, Any] | None:
            entry = self.store.get(bucket, key)
            return entry.obj if entry is not None else None

        accounts = next(s.bucket for s in self.strategies if s.kind == "ServiceAccount")
        tokens = (tokens if tokens is not None else TokenAuthenticator()).with_verifiers(
            service_account_verifier(self.token_issuer, lambda ns, name: get(accounts, f"{ns}/{name}")))
        if token is not None:
            tokens.add(token, ADMIN)
        if mode not in AUTHORIZATION_MODES:
            raise ValueError(f"authorization mode {mode!r}: use one of {', '.join(AUTHORIZATION_MODES)}")
        authorizer: Authorizer = AlwaysAllow()
        if mode == "RBAC":
            authorizer = RBACAuthorizer(StorePolicy(items, get))
            by_kind = {s.kind: s for s in self.strategies if s.group == "rbac.authorization.k8s.io"}
            for obj in bootstrap_policy():
                self.registry.create(by_kind[obj["kind"]], None, obj)
        return AuthGate(tokens, authorizer, anonymous)

    def app(self) -> web.Application:
        # bodies are read by _read_body, with the API's own limit and answer
        app = web.Application(client_max_size=self.max_request_bytes + 1)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ------------------------------------------------------------------ entry point

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.request_count += 1
        try:
            request[_USER] = self.gate.check(request.method, request.path, request.query, request.headers)
            response = await self._dispatch(request)
        except APIError as exc:
            if exc.code >= 500:
                log.warning("%s %s: %s", request.method, request.path, exc.message)
            failed = web.Response(body=exc.to_bytes(), status=exc.code, content_type=JSON)
            if exc.code in (413, 504) and request.method in _MUTATING:
                failed.force_close()  # the rest of the body is not read: this connection is done
            return failed
        except Exception as exc:
            log.exception("%s %s: internal error", request.method, request.path)
            err = APIError(500, f"Internal error occurred: {exc}", "InternalError")
            return web.Response(body=err.to_bytes(), status=500, content_type=JSON)
        if request.method in _MUTATING and response.status < 300 and not request.get(_DRY_RUN):
            self.write_count += 1
        if not response.prepared:
            for warning in request.get(_WARNINGS, ()):
                response.headers.add("Warning", '299 - "' + warning.replace('"', '\\"') + '"')
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        static = self._static.get(path)
        if static is not None:
            if request.method != "GET":
                raise errors.method_not_allowed()
            doc = static()
            if doc is None:
                raise _NOT_FOUND
            return web.Response(body=dumps(doc), content_type=JSON)
        route = self._route(path)
        if route is None:
            raise _NOT_FOUND
        return await self._serve(request, route)

    def _route(self, path: str) -> Route | None:
        """Split a resource path into (strategy, namespace, name, subresource, legacy-watch)."""
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            gv, rest = parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return None
        watch = False
        if rest and rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            candidate = self._routes.get((gv, rest[2]))
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        strategy = self._routes.get((gv, rest[0]))
        if strategy is None or (strategy.namespaced is False and namespace is not None):
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and not ((sub == "status" and strategy.has_status) or sub in strategy.extra_subresources):
            return None
        if strategy.namespaced and namespace is None and name is not None:
            return None
        return Route(strategy, namespace, name, sub, watch)

    # ------------------------------------------------------------------ verbs

    async def _serve(self, request: web.Request, route: Route) -> web.StreamResponse:
        # Read the body first: from here until the registry call returns nothing awaits, so the
        # registry's per-request warning list cannot mix with another request's.
        raw = await self._read_body(request) if request.method in _MUTATING else b""
        if not route.strategy.stored:
            return self._review(request, route, raw)
        warnings: list[str] = [route.strategy.deprecation] if route.strategy.deprecation else []
        self.registry.warnings = request[_WARNINGS] = warnings
        self.registry.duplicates = []
        return await self._serve_verb(request, route, raw)

    async def _read_body(self, request: web.Request) -> bytes:
        """The request body, refused with a 413 past ``max_request_bytes`` without reading it all
        (a declared Content-Length over the limit is refused before reading any of it)."""
        limit = self.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            raise errors.request_entity_too_large(f"limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while chunk := await request.content.read(256 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise errors.request_entity_too_large(f"limit is {limit}")
                    chunks.append(chunk)
        except TimeoutError:
            raise errors.timeout("request did not complete within the allotted timeout "
                                 "(reading the request body)") from None
        return b"".join(chunks)

    async def _serve_verb(self, request: web.Request, route: Route, raw: bytes) -> web.StreamResponse:
        strategy, namespace, name, sub, watch_prefix = route
        q = request.query
        method = request.method
        dry_run = request[_DRY_RUN] = self._dry_run(q)
        reg = self.registry
        force = False
        if method in _OPTIONS_KIND:  # whose write this is, for managedFields
            reg.field_manager, force = fieldmanager.write_options(
                _OPTIONS_KIND[method], q.get("fieldManager"), q.get("force"), request.headers.get("User-Agent", ""),
                apply=method == "PATCH" and request.content_type == APPLY_PATCH)
        if name is None:
            if method == "GET":
                if watch_prefix or q.get("watch") in ("true", "1"):
                    return await self._watch(request, strategy, namespace)
                listoptions.validate_list(q)
                body = reg.list(strategy, namespace, label_selector=q.get("labelSelector"),
                                field_selector=q.get("fieldSelector"), limit=self._int_param(q, "limit"),
                                continue_token=q.get("continue"), resource_version=q.get("resourceVersion"),
                                resource_version_match=q.get("resourceVersionMatch"))
                accept = request.headers.get("Accept", "")
                if tables.wants_table(accept):
                    return self._table(strategy, body, is_list=True, include=q.get("includeObject"))
                if tables.wants_partial(accept):
                    return self._ok(dumps(tables.partial_list(json.loads(body))))
                return self._reply(request, body)
            if method == "POST" and (namespace is not None or not strategy.namespaced):
                return self._reply(request, reg.create(strategy, namespace, self._body(raw, request), dry_run,
                                           q.get("fieldValidation")), 201)
            if method == "DELETE" and (namespace is not None or not strategy.namespaced):
                options, dry_run = self._delete_options(request, raw, dry_run)
                return self._reply(request, reg.delete_collection(strategy, namespace, label_selector=q.get("labelSelector"),
                                                      field_selector=q.get("fieldSelector"), options=options,
                                                      dry_run=dry_run))
            raise errors.method_not_allowed()
        if watch_prefix:
            raise _NOT_FOUND
        if sub == "token":  # create-only subresource
            if method != "POST":
                raise errors.method_not_allowed()
            account = json.loads(reg.get(strategy, namespace, name))
            return self._reply(request, dumps(self.token_issuer.request(account, self._body(raw, request))), 201)
        if method == "GET":
            accept = request.headers.get("Accept", "")
            if sub is None and tables.wants_table(accept):
                return self._table(strategy, reg.get(strategy, namespace, name), is_list=False,
                                   include=q.get("includeObject"))
            if sub is None and tables.wants_partial(accept):
                return self._ok(dumps(tables.partial(json.loads(reg.get(strategy, namespace, name)))))
            return self._reply(request, reg.get(strategy, namespace, name))
        if method == "PUT":
            status, body = reg.update(strategy, namespace, name, self._body(raw, request), subresource=sub,
                                      dry_run=dry_run, field_validation=q.get("fieldValidation"))
            return self._reply(request, body, status)
        if method == "PATCH" and request.content_type == APPLY_PATCH:
            status, body = reg.apply(strategy, namespace, name, self._body(raw, request), force=force,
                                     subresource=sub, dry_run=dry_run, field_validation=q.get("fieldValidation"))
            return self._reply(request, body, status)
        if method == "PATCH":
            ctype = request.content_type or MERGE_PATCH
            return self._reply(request, reg.patch(strategy, namespace, name, ctype, self._body(raw, request),
                                      subresource=sub, dry_run=dry_run, field_validation=q.get("fieldValidation")))
        if method == "DELETE" and sub is None:
            options, dry_run = self._delete_options(request, raw, dry_run)
            return self._reply(request, reg.delete(strategy, namespace, name, options, dry_run))
        raise errors.method_not_allowed()

    def _review(self, request: web.Request, route: Route, raw: bytes) -> web.Response:
        """The review APIs: POST to the collection only; answered, never stored (201, as kube-apiserver)."""
        if request.method != "POST" or route.name is not None or route.legacy_watch:
            raise errors.method_not_allowed()
        s = route.strategy
        answer = self.gate.reviewer.review(s.kind, s.api_version, route.namespace, self._body(raw, request),
                                           request[_USER])
        return self._reply(request, dumps(answer), 201)

    def _delete_options(self, request: web.Request, raw: bytes, dry_run: bool) -> tuple[Any, bool]:
        """DeleteOptions from the body; its ``dryRun`` counts as much as the query parameter."""
        options = self._parse(raw, request.content_type) if raw else {}
        if isinstance(options, dict) and isinstance(options.get("dryRun"), list) and options["dryRun"]:
            dry_run = dry_run or self._dry_run({"dryRun": options["dryRun"][0]})
        request[_DRY_RUN] = dry_run
        return options, dry_run

    def _table(self, strategy: Strategy, body: bytes, *, is_list: bool, include: str | None) -> web.Response:
        doc = json.loads(body)
        objects = doc["items"] if is_list else [doc]
        meta = doc["metadata"] if is_list else {"resourceVersion": doc["metadata"].get("resourceVersion", "")}
        return self._ok(dumps(tables.table(strategy.plural, objects, meta, include,
                                           (strategy.api_version, strategy.kind))))

    def _table_renderer(self, strategy: Strategy) -> Callable[[str, Entry], bytes]:
        """Watch events carrying one-row Tables (``kubectl get -w``); only the first has the columns."""
        first = True

        def render(kind: str, entry: Entry) -> bytes:
            nonlocal first
            obj = json.loads(self.registry.render(strategy, entry))
            doc = tables.table(strategy.plural, [obj], {"resourceVersion": str(entry.rv)})
            if not first:
                doc["columnDefinitions"] = []
            first = False
            return b'{"type":"' + kind.encode() + b'","object":' + dumps(doc) + b"}\n"

        return render

    @staticmethod
    def _ok(body: bytes, status: int = 200) -> web.Response:
        return web.Response(body=body, status=status, content_type=JSON)

    def _reply(self, request: web.Request, body: bytes, status: int = 200) -> web.Response:
        """The answer in the client's preferred encoding: protobuf when it asks for it first and the
        kind has a message (kubectl's and client-go's typed clients do), JSON otherwise."""
        if protobuf.accepts_protobuf(request.headers.get("Accept", "")):
            try:
                return web.Response(body=protobuf.encode(json.loads(body)), status=status,
                                    content_type=protobuf.MEDIA_TYPE)
            except protobuf.CodecError as exc:
                log.debug("%s %s: answering JSON: %s", request.method, request.path, exc)
        return self._ok(body, status)

    @staticmethod
    def _dry_run(q: Any) -> bool:
        value = q.get("dryRun")
        if value is None or value == "":
            return False
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
        return True

    @staticmethod
    def _int_param(q: Any, name: str) -> int:
        value = q.get(name)
        if not value:
            return 0
        try:
            return max(0, int(value))
        except ValueError:
            raise errors.bad_request(f'{name}: Invalid value: "{value}": must be an integer') from None

    def _parse(self, raw: bytes, content_type: str) -> Any:
        decoded = decoding.parse(raw, content_type)
        self.registry.duplicates = decoded.duplicates
        return decoded.obj

    def _body(self, raw: bytes, request: web.Request) -> Any:
        if not raw:
            raise errors.bad_request("the body of the request was empty")
        return self._parse(raw, request.content_type)

    # ------------------------------------------------------------------ watch

    async def _watch(self, request: web.Request, strategy: Strategy, namespace: str | None) -> web.StreamResponse:
        q = request.query
        send_initial = listoptions.send_initial_events(q)
        selection = Selection(strategy, q.get("labelSelector"), q.get("fieldSelector"))
        timeout = self._int_param(q, "timeoutSeconds")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        rv = q.get("resourceVersion") or ""

        accept = request.headers.get("Accept", "")
        # protobuf when asked first (client-go's typed watches), framed events; JSON lines otherwise
        proto = protobuf.accepts_protobuf(accept) and protobuf.supports(strategy.api_version, strategy.kind)
        frame = _protobuf_event if proto else _json_event

        def plain(kind: str, entry: Entry) -> bytes:
            if proto:  # encoded once per object version, whatever the number of watchers
                return protobuf.watch_frame(kind, self.registry.render_protobuf(strategy, entry))
            return frame(kind, self.registry.render(strategy, entry))

        render: Callable[[str, Entry], bytes] = plain
        if tables.wants_table(accept):
            render, frame = self._table_renderer(strategy), _json_event

        watcher = Watcher(strategy.bucket, namespace, None if selection.everything else selection.matches, render)
        # legacy watch: unset or "0" starts with the current state as synthetic ADDED events;
        # sendInitialEvents says explicitly whether to (its end is marked by a bookmark)
        initial = rv in ("", "0") if send_initial is None else send_initial
        error_line = None
        try:
            if initial:
                if rv not in ("", "0"):
                    self.registry.not_too_large(rv)
                for _, entry in self.store.items(strategy.bucket, namespace):
                    if selection.everything or selection.matches(entry.obj):
                        watcher.push(render("ADDED", entry))
            elif rv not in ("", "0"):
                # a revision this server has not reached (a client that saw an earlier incarnation
                # of it): the watch cache's answer, an ERROR event, so informers relist
                for ev in self.store.events_since(strategy.bucket, self.registry.not_too_large(rv)):
                    watcher.offer(ev)
        except APIError as exc:
            if exc.code not in (410, 504):
                raise
            # as the watch cache does: HTTP 200, then one ERROR event carrying the Status
            error_line = frame("ERROR", exc.to_bytes())
        response = web.StreamResponse(status=200, headers={
            "Content-Type": protobuf.WATCH_MEDIA_TYPE if frame is _protobuf_event else JSON,
            "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        if error_line is not None:
            await response.prepare(request)
            await response.write(error_line)
            await response.write_eof()
            return response
        if bookmarks and send_initial:
            mark = strategy.bookmark(self.store.rv)
            mark["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
            watcher.push(frame("BOOKMARK", dumps(mark)))
        self.store.add_watcher(watcher)
        try:
            await response.prepare(request)
            await self._pump(response, watcher, strategy, timeout, bookmarks, frame=frame)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.remove_watcher(watcher)
        return response

    async def _pump(self, response: web.StreamResponse, watcher: Watcher, strategy: Strategy, timeout: int,
                    bookmarks: bool, *, frame: Callable[[str, bytes], bytes]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        next_mark = loop.time() + self.bookmark_interval
        while True:
            if watcher.lines:
                data = b"".join(watcher.lines)
                watcher.lines.clear()
                await response.write(data)
                continue
            if watcher.closed:
                break
            now = loop.time()
            if deadline is not None and now >= deadline:
                break
            if bookmarks and now >= next_mark:
                watcher.push(frame("BOOKMARK", dumps(strategy.bookmark(self.store.rv))))
                next_mark = now + self.bookmark_interval
                continue
            wait = next_mark - now if bookmarks else None
            if deadline is not None:
                wait = deadline - now if wait is None else min(wait, deadline - now)
            watcher.wake.clear()
            await _wait(watcher.wake.wait(), wait)
        await response.write_eof()


def _json_event(kind: str, obj: bytes) -> bytes:
    """A watch event as a JSON line (``obj`` is the object's JSON)."""
    return b'{"type":"' + kind.encode() + b'","object":' + obj + b"}\n"


def _protobuf_event(kind: str, obj: bytes) -> bytes:
    """A watch event as a length-prefixed protobuf WatchEvent (``obj`` is the object's JSON)."""
    return protobuf.watch_frame(kind, protobuf.encode(json.loads(obj)))


async def _wait(aw: Awaitable[Any], timeout: float | None) -> None:
    try:
        await asyncio.wait_for(aw, timeout)
    except TimeoutError:
        pass
