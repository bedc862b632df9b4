"""Keystone's wire: version discovery and ``/v3/auth/tokens`` (issue, validate, revoke)."""

from __future__ import annotations

from emulators.openstack.errors import NotFound, Unauthorized
from emulators.openstack.identity import iso
from emulators.openstack.routes import Reply, Request, Route

_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
_UPDATED = "2024-04-03T00:00:00Z"


def _version(req: Request) -> dict[str, object]:
    return {"id": "v3.14", "status": "stable", "updated": _UPDATED, "media-types": _MEDIA,
            "links": [{"rel": "self", "href": f"{req.base_url}/identity/v3/"}]}


def versions(req: Request) -> Reply:
    # Keystone answers its root with 300 Multiple Choices; keystoneauth reads the body all the same
    return Reply(300, {"versions": {"values": [_version(req)]}})


def version(req: Request) -> Reply:
    return Reply(200, {"version": _version(req)})


def issue(req: Request) -> Reply:
    token = req.cloud.identity.issue(req.body)
    return Reply(201, req.cloud.identity.token_body(token, req.base_url), {"X-Subject-Token": token.id})


def validate(req: Request) -> Reply:
    try:
        token = req.cloud.identity.check(req.headers.get("x-subject-token"))
    except Unauthorized:
        raise NotFound("Could not find token.") from None
    body = req.cloud.identity.token_body(token, req.base_url)
    return Reply(200, body, {"X-Subject-Token": token.id, "X-Expires-At": iso(token.expires)})


def revoke(req: Request) -> Reply:
    req.cloud.identity.revoke(req.headers.get("x-subject-token"))
    return Reply(204)


ROUTES = [
    Route("keystone.versions.list", "identity", "GET", "/identity", False, versions, auth=False),
    Route("keystone.versions.get", "identity", "GET", "/identity/v3", False, version, auth=False),
    Route("keystone.tokens.create", "identity", "POST", "/identity/v3/auth/tokens", False, issue, auth=False),
    Route("keystone.tokens.get", "identity", "GET", "/identity/v3/auth/tokens", False, validate),
    Route("keystone.tokens.delete", "identity", "DELETE", "/identity/v3/auth/tokens", False, revoke),
]
