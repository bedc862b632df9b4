"""The route table: HTTP method + path template -> action id -> handler, as data.

Each service module (``api_identity``, ``api_octavia``, ``api_neutron``, ``api_nova``) lists its
routes; this module holds the types they share and the matcher the wire uses. Paths are absolute
under the emulator's root: ``/identity/...``, ``/load-balancer/v2/...`` (``v2.0`` is accepted as
Octavia accepts it), ``/networking/v2.0/...``, ``/compute/v2.1/...``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulators.openstack.cloud import Cloud
    from emulators.openstack.identity import Token

Json = dict[str, Any]
Query = dict[str, list[str]]


@dataclass
class Request:
    cloud: Cloud
    params: dict[str, str]
    query: Query
    body: Any
    headers: Mapping[str, str]  #: lower-case names
    base_url: str
    path: str = ""
    token: Token | None = None

    @property
    def project(self) -> str:
        assert self.token is not None, "route needs authentication"
        return self.token.project_id

    def flag(self, name: str) -> bool:
        return (self.query.get(name) or ["false"])[-1].lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    action: str  #: ``<service>.<collection>.<verb>``, what faults and call counts match on
    service: str  #: catalog type: identity, load-balancer, network, compute (error format, auth)
    method: str
    template: str
    mutating: bool
    handler: Handler
    auth: bool = True

    def compile(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + r"/?\Z")


class Table:
    """Routes compiled once; ``match`` answers (route, params), or a 405 hint, or nothing."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes = [(r, r.compile()) for r in routes]

    def __iter__(self) -> Any:
        return iter(r for r, _ in self._routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | str | None:
        allowed: list[str] = []
        for route, pattern in self._routes:
            m = pattern.match(path)
            if m is None:
                continue
            if route.method == method:
                return route, m.groupdict()
            allowed.append(route.method)
        return ",".join(sorted(set(allowed))) if allowed else None


def listing(key: str, items: list[Json], next_marker: str | None, req: Request, path: str) -> Json:
    """``{key: items, key_links: [...]}`` with a ``next`` link when a page was cut."""
    links = []
    if next_marker is not None:
        rest = "&".join(f"{k}={v}" for k, vs in req.query.items() if k != "marker" for v in vs)
        links.append({"rel": "next", "href": f"{req.base_url}{path}?{rest}&marker={next_marker}"})
    return {key: items, f"{key}_links": links}


def unwrap_list(body: Any, key: str) -> list[Any]:
    from emulators.openstack.errors import BadRequest

    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: '{body}'. Mandatory field missing.")
    return list(body[key])
