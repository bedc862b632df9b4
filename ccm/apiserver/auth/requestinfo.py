"""What a request asks for, in authorizer terms (kube-apiserver ``RequestInfoFactory``, simplified).

Resource requests are ``/api/v1/...`` and ``/apis/<group>/<version>/...`` paths; everything else
(``/version``, ``/healthz``, ``/openapi/...``, discovery roots) is a non-resource request whose verb
is the lower-cased HTTP method (GET -> get).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

_VERB_OF_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch", "GET": "get", "HEAD": "get",
                   "DELETE": "delete"}


@dataclasses.dataclass(frozen=True)
class Attributes:
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    parts = [p for p in path.split("/") if p]
    method = method.upper()
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(method.lower(), False, path=path or "/")
    if not rest:  # discovery of a group version
        return Attributes(method.lower(), False, path=path)
    verb = _VERB_OF_METHOD.get(method, method.lower())
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        namespace, rest = rest[1], rest[2:]
    elif len(rest) == 2 and rest[0] == "namespaces":  # a namespace itself
        namespace = rest[1]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    sub = "/".join(rest[2:]) if len(rest) > 2 else ""
    if not name:
        if verb == "get":
            verb = "watch" if watch or query.get("watch") in ("true", "1") else "list"
        elif verb == "delete":
            verb = "deletecollection"
    elif watch or (verb == "get" and query.get("watch") in ("true", "1")):
        verb = "watch"
    return Attributes(verb, True, path=path, api_group=group, api_version=version, namespace=namespace,
                      resource=resource, subresource=sub, name=name)
