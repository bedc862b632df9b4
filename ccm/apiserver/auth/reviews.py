"""TokenReview, SelfSubjectReview, SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectAccessReview.

Each takes the decoded body and the requesting user and returns the object kube-apiserver
returns (HTTP 201): the spec echoed, the answer in ``status``. Creating a review is itself
authorized like any create (``system:auth-delegator`` grants the delegating ones), which the
HTTP layer has checked before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccm.apiserver import errors
from ccm.apiserver import fielderrors as fe
from ccm.apiserver.auth.rbac import Authorizer
from ccm.apiserver.auth.requestinfo import Attributes
from ccm.apiserver.auth.users import TokenAuthenticator, User


def _envelope(body: Mapping[str, Any], api_version: str, kind: str, status: dict[str, Any]) -> dict[str, Any]:
    meta = dict(body.get("metadata") or {})
    meta.setdefault("creationTimestamp", None)
    return {"kind": kind, "apiVersion": api_version, "metadata": meta, "spec": dict(body.get("spec") or {}),
            "status": status}


def _attributes(spec: Mapping[str, Any], kind: str) -> Attributes:
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if bool(res) == bool(non) or not isinstance(res or non, Mapping):
        raise errors.invalid(kind, "", [fe.invalid("spec.resourceAttributes", res,
                                                   "exactly one of nonResourceAttributes or resourceAttributes "
                                                   "must be specified")], "authorization.k8s.io")
    if isinstance(non, Mapping):
        return Attributes(str(non.get("verb", "")), False, path=str(non.get("path", "")))
    assert isinstance(res, Mapping)
    return Attributes(str(res.get("verb", "")), True, api_group=str(res.get("group", "")),
                      api_version=str(res.get("version", "")), namespace=str(res.get("namespace", "")),
                      resource=str(res.get("resource", "")), subresource=str(res.get("subresource", "")),
                      name=str(res.get("name", "")))


def _decide(authorizer: Authorizer, user: User, attrs: Attributes) -> dict[str, Any]:
    allowed, reason = authorizer.authorize(user, attrs)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


class Reviewer:
    def __init__(self, tokens: TokenAuthenticator, authorizer: Authorizer) -> None:
        self.tokens = tokens
        self.authorizer = authorizer

    def review(self, kind: str, api_version: str, namespace: str | None, body: Any,
               requester: User) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request(f"the body of a {kind} must be an object")
        spec = body.get("spec") or {}
        if kind == "TokenReview":
            return _envelope(body, api_version, kind, self._token(spec))
        if kind == "SelfSubjectReview":
            return _envelope(body, api_version, kind, {"userInfo": requester.to_api()})
        if kind == "SelfSubjectAccessReview":
            return _envelope(body, api_version, kind, _decide(self.authorizer, requester, _attributes(spec, kind)))
        attrs = _attributes(spec, kind)
        if not spec.get("user") and not spec.get("groups"):
            raise errors.invalid(kind, "", [fe.invalid("spec.user", "", "at least one of user or group must "
                                                                        "be specified")], "authorization.k8s.io")
        if kind == "LocalSubjectAccessReview" and attrs.namespace != namespace:
            raise errors.invalid(kind, "", [fe.invalid("spec.resourceAttributes.namespace", attrs.namespace,
                                                       "must match metadata.namespace")], "authorization.k8s.io")
        extra = {k: tuple(v) for k, v in (spec.get("extra") or {}).items()}
        user = User(str(spec.get("user", "")), str(spec.get("uid", "")), tuple(spec.get("groups") or ()), extra)
        return _envelope(body, api_version, kind, _decide(self.authorizer, user, attrs))

    def _token(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise errors.invalid("TokenReview", "", [fe.required("spec.token", "")], "authentication.k8s.io")
        audiences = [a for a in spec.get("audiences") or () if isinstance(a, str)]
        user = self.tokens.authenticate(token, audiences)
        if user is None:
            return {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        status: dict[str, Any] = {"authenticated": True, "user": user.to_api()}
        if spec.get("audiences"):
            status["audiences"] = list(spec["audiences"])
        return status
