"""Keystone v3: users, projects, application credentials, tokens and the service catalog.

Token issue (``POST /v3/auth/tokens``) accepts the two methods a cloud controller uses:
``password`` (user by id, or by name plus domain; scoped to a project by id, or by name plus
domain) and ``application_credential`` (by id, or by name plus user; scoped to the credential's
own project, and asking for another scope is refused as Keystone refuses it). The token body
carries the catalog, whose endpoints all point at this emulator's own services, so openstacksdk
finds Octavia, Neutron and Nova exactly as in a cloud. Tokens expire (``token_ttl``), and
``expire_tokens`` lets a test force the client to authenticate again.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulators.openstack.errors import BadRequest, NotFound, Unauthorized
from emulators.openstack.ids import new_hex as new_id

Json = dict[str, Any]

#: (catalog type, catalog name, path under the emulator's base URL)
SERVICES: tuple[tuple[str, str, str], ...] = (
    ("identity", "keystone", "/identity"),
    ("load-balancer", "octavia", "/load-balancer"),
    ("network", "neutron", "/networking"),
    ("compute", "nova", "/compute/v2.1"),
)


def iso(ts: float) -> str:
    """Keystone's timestamp format (microseconds, ``Z``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class User:
    id: str
    name: str
    domain_id: str
    password: str
    roles: tuple[str, ...] = ("member", "load-balancer_member")


@dataclass
class Project:
    id: str
    name: str
    domain_id: str


@dataclass
class AppCredential:
    id: str
    name: str
    secret: str
    user_id: str
    project_id: str


@dataclass
class Token:
    id: str
    user_id: str
    project_id: str
    methods: list[str]
    issued: float
    expires: float
    app_credential_id: str | None = None


@dataclass
class Identity:
    region: str = "RegionOne"
    token_ttl: float = 3600.0
    domains: dict[str, str] = field(default_factory=lambda: {"default": "Default"})  #: id -> name
    users: dict[str, User] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    app_credentials: dict[str, AppCredential] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)

    # -- seeding ----------------------------------------------------------------------------------

    def add_project(self, name: str, domain_id: str = "default", project_id: str | None = None) -> Project:
        project = Project(project_id or new_id(), name, domain_id)
        self.projects[project.id] = project
        return project

    def add_user(self, name: str, password: str, domain_id: str = "default", user_id: str | None = None,
                 roles: tuple[str, ...] = ("member", "load-balancer_member")) -> User:
        user = User(user_id or new_id(), name, domain_id, password, roles)
        self.users[user.id] = user
        return user

    def add_app_credential(self, user_id: str, project_id: str, name: str = "ccm",
                           secret: str | None = None) -> AppCredential:
        cred = AppCredential(new_id(), name, secret or secrets.token_urlsafe(24), user_id, project_id)
        self.app_credentials[cred.id] = cred
        return cred

    def expire_tokens(self) -> None:
        """Every token issued so far is expired: the next call with one gets 401."""
        for token in self.tokens.values():
            token.expires = 0.0

    # -- token issue --------------------------------------------------------------------------------

    def _domain_id(self, ref: Json | None) -> str:
        if not isinstance(ref, dict):
            raise BadRequest("The request you have made requires a domain.")
        if "id" in ref:
            return str(ref["id"])
        for did, dname in self.domains.items():
            if dname == ref.get("name"):
                return did
        raise Unauthorized("The request you have made requires authentication.")

    def _user(self, ref: Json) -> User:
        if "id" in ref:
            user = self.users.get(str(ref["id"]))
        else:
            domain = self._domain_id(ref.get("domain"))
            user = next((u for u in self.users.values() if u.name == ref.get("name") and u.domain_id == domain), None)
        if user is None:
            raise Unauthorized("The request you have made requires authentication.")
        return user

    def _project(self, ref: Json) -> Project:
        if "id" in ref:
            project = self.projects.get(str(ref["id"]))
        else:
            domain = self._domain_id(ref.get("domain"))
            project = next((p for p in self.projects.values()
                            if p.name == ref.get("name") and p.domain_id == domain), None)
        if project is None:
            raise Unauthorized("The request you have made requires authentication.")
        return project

    def issue(self, body: Any) -> Token:
        """``POST /v3/auth/tokens``: check the credentials, return a new scoped token."""
        try:
            auth = body["auth"]
            identity = auth["identity"]
            methods = list(identity["methods"])
        except (KeyError, TypeError):
            raise BadRequest("Invalid input for field 'identity': 'methods' is a required property") from None
        scope = auth.get("scope")
        cred_id = None
        if methods == ["password"]:
            ref = identity.get("password", {}).get("user") or {}
            user = self._user(ref)
            if ref.get("password") != user.password:
                raise Unauthorized("The request you have made requires authentication.")
            if not isinstance(scope, dict) or "project" not in scope:
                raise BadRequest("ccm's emulator issues project-scoped tokens only: add a project scope.")
            project = self._project(scope["project"])
        elif methods == ["application_credential"]:
            ref = identity.get("application_credential") or {}
            if "id" in ref:
                cred = self.app_credentials.get(str(ref["id"]))
            else:
                owner = self._user(ref.get("user") or {})
                cred = next((c for c in self.app_credentials.values()
                             if c.name == ref.get("name") and c.user_id == owner.id), None)
            if cred is None or ref.get("secret") != cred.secret:
                raise Unauthorized("The request you have made requires authentication.")
            if scope:
                raise Unauthorized("Application credentials cannot request a scope.")
            user, project, cred_id = self.users[cred.user_id], self.projects[cred.project_id], cred.id
        else:
            raise Unauthorized(f"Attempted to authenticate with an unsupported method: {methods}")
        now = time.time()
        token = Token(secrets.token_hex(32), user.id, project.id, methods, now, now + self.token_ttl, cred_id)
        self.tokens = {k: t for k, t in self.tokens.items() if t.expires > now}
        self.tokens[token.id] = token
        return token

    def check(self, token_id: str | None) -> Token:
        """The token a request carries in ``X-Auth-Token``; 401 when absent, unknown or expired."""
        token = self.tokens.get(token_id or "")
        if token is None or token.expires <= time.time():
            raise Unauthorized()
        return token

    def revoke(self, token_id: str | None) -> None:
        if self.tokens.pop(token_id or "", None) is None:
            raise NotFound("Could not find token.")

    # -- rendering ----------------------------------------------------------------------------------

    def catalog(self, base_url: str) -> list[Json]:
        out = []
        for kind, name, path in SERVICES:
            endpoints = [{"id": new_id(), "interface": iface, "region": self.region, "region_id": self.region,
                          "url": base_url + path} for iface in ("public", "internal", "admin")]
            out.append({"id": uuid.uuid5(uuid.NAMESPACE_URL, kind).hex, "type": kind, "name": name,
                        "endpoints": endpoints})
        return out

    def token_body(self, token: Token, base_url: str) -> Json:
        user = self.users[token.user_id]
        project = self.projects[token.project_id]
        body: Json = {
            "methods": token.methods,
            "user": {"id": user.id, "name": user.name, "password_expires_at": None,
                     "domain": {"id": user.domain_id, "name": self.domains.get(user.domain_id, user.domain_id)}},
            "project": {"id": project.id, "name": project.name,
                        "domain": {"id": project.domain_id,
                                   "name": self.domains.get(project.domain_id, project.domain_id)}},
            "roles": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, r).hex, "name": r} for r in user.roles],
            "is_domain": False,
            "issued_at": iso(token.issued),
            "expires_at": iso(token.expires),
            "audit_ids": [secrets.token_urlsafe(16)],
            "catalog": self.catalog(base_url),
        }
        if token.app_credential_id:
            cred = self.app_credentials[token.app_credential_id]
            body["application_credential"] = {"id": cred.id, "name": cred.name, "restricted": True}
        return {"token": body}
