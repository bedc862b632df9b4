"""What the HTTP layer asks of every request: who is it (401 if the credentials are bad) and may it (403).

``anonymous`` follows the server's historical rule: allowed when no token is configured at all
(a loopback test server), refused with 401 once tokens exist, unless enabled explicitly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ccm.apiserver import errors
from ccm.apiserver.auth.rbac import AlwaysAllow, Authorizer, forbidden_message
from ccm.apiserver.auth.requestinfo import request_attributes
from ccm.apiserver.auth.reviews import Reviewer
from ccm.apiserver.auth.users import ANONYMOUS, MASTERS, TokenAuthenticator, User

#: the user the legacy single ``--token`` authenticates as
ADMIN = User("admin", "admin", (MASTERS,))


@dataclasses.dataclass
class AuthGate:
    tokens: TokenAuthenticator
    authorizer: Authorizer = dataclasses.field(default_factory=AlwaysAllow)
    anonymous: bool | None = None  # None: only when there are no tokens

    def __post_init__(self) -> None:
        self.reviewer = Reviewer(self.tokens, self.authorizer)

    def authenticate(self, headers: Mapping[str, str]) -> User:
        auth = headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if auth:
            user = self.tokens.authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
            if user is None:
                raise errors.unauthorized()
            return user
        anonymous = self.anonymous if self.anonymous is not None else not self.tokens
        if not anonymous:
            raise errors.unauthorized()
        return ANONYMOUS

    def check(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> User:
        """The requesting user, or APIError 401/403."""
        user = self.authenticate(headers)
        attrs = request_attributes(method, path, query)
        allowed, _ = self.authorizer.authorize(user, attrs)
        if not allowed:
            raise errors.APIError(403, forbidden_message(user, attrs), "Forbidden",
                                  {"group": attrs.api_group, "kind": attrs.resource, "name": attrs.name}
                                  if attrs.resource_request else None)
        return user
