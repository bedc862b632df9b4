"""Delegated authentication (k8s.io/apiserver ``DelegatingAuthenticationOptions``), bearer tokens only.

A request without credentials is ``system:anonymous`` in ``system:unauthenticated``. A bearer
token is sent to the API server in a ``TokenReview`` (authentication.k8s.io/v1); the answer is
cached for ``ttl`` (``--authentication-token-webhook-cache-ttl``, 10 s), authenticated or not, so a
scraper costs one review per token per TTL. A token the API server rejects is a 401, never a
downgrade to anonymous. Without a client (no ``--authentication-kubeconfig`` and not in a cluster)
there is no token authenticator, and every request is anonymous, as upstream.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from ccm.kube.clock import Clock
from ccm.kube.secure.cache import TTLCache

log = logging.getLogger(__name__)

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"


class ReviewClient(Protocol):
    def create(self, path: str, body: Mapping[str, Any],
               params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def extra_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.extra}


ANONYMOUS_USER = UserInfo(ANONYMOUS, groups=(UNAUTHENTICATED,))


class Unauthorized(Exception):
    """The request presented credentials that are not valid (HTTP 401)."""


class DelegatingAuthenticator:
    def __init__(self, client: ReviewClient | None, *, ttl: float = 10.0, audiences: tuple[str, ...] = (),
                 clock: Clock | None = None) -> None:
        self.client = client
        self.ttl = ttl
        self.audiences = audiences
        #: sha256(token) -> (the user, or None for a token the API server did not authenticate)
        self._cache: TTLCache[str, tuple[UserInfo | None]] = TTLCache(clock=clock)
        self.reviews = 0  # TokenReviews sent (tests and debugging)

    def authenticate(self, headers: Mapping[str, str]) -> UserInfo:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, token = auth.strip().partition(" ")
        if not auth or self.client is None:
            return ANONYMOUS_USER
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("invalid bearer token")
        key = hashlib.sha256(token.encode()).hexdigest()  # never keep the token itself
        hit = self._cache.get(key)
        user = hit[0] if hit is not None else self._review(token, key)
        if user is None:
            raise Unauthorized("invalid bearer token")
        return user

    def _review(self, token: str, key: str) -> UserInfo | None:
        assert self.client is not None
        spec: dict[str, Any] = {"token": token}
        if self.audiences:
            spec["audiences"] = list(self.audiences)
        self.reviews += 1
        try:
            result = self.client.create(TOKEN_REVIEWS, {"apiVersion": "authentication.k8s.io/v1",
                                                        "kind": "TokenReview", "spec": spec})
        except Exception as exc:
            log.warning("token review failed: %s", exc)
            raise Unauthorized(f"token review failed: {exc}") from exc
        status = result.get("status") or {}
        user: UserInfo | None = None
        if status.get("authenticated"):
            u = status.get("user") or {}
            user = UserInfo(str(u.get("username", "")), str(u.get("uid", "")), tuple(u.get("groups") or ()),
                            tuple(sorted((k, tuple(v)) for k, v in (u.get("extra") or {}).items())))
        self._cache.put(key, (user,), self.ttl)
        return user
