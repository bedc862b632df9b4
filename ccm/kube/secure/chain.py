"""The filter in front of the secure port's handlers: authenticate, authorize, or answer 401/403.

The answers are kube-style ``Status`` objects, as the apiserver filters write them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ccm.kube.secure.authn import DelegatingAuthenticator, Unauthorized
from ccm.kube.secure.authz import DelegatingAuthorizer

#: HTTP method -> the authorizer's verb for a non-resource request
VERBS = {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "PATCH": "patch", "DELETE": "delete",
         "OPTIONS": "options"}


def status_body(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


class AuthChain:
    def __init__(self, authenticator: DelegatingAuthenticator, authorizer: DelegatingAuthorizer) -> None:
        self.authenticator = authenticator
        self.authorizer = authorizer

    def __call__(self, method: str, path: str, headers: Mapping[str, str]) -> tuple[int, bytes] | None:
        """None lets the request through; else ``(status, body)`` to answer instead."""
        try:
            user = self.authenticator.authenticate(headers)
        except Unauthorized:
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        verb = VERBS.get(method.upper(), method.lower())
        decision = self.authorizer.authorize(user, verb, path)
        if decision.allowed:
            return None
        message = f'forbidden: User "{user.name}" cannot {verb} path "{path}"'
        if decision.reason:
            message += f": {decision.reason}"
        return 403, status_body(403, "Forbidden", message)
