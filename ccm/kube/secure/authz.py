"""Delegated authorization (k8s.io/apiserver ``DelegatingAuthorizationOptions``) for non-resource paths.

A union, in order: the group ``system:masters`` is always allowed; the always-allow paths
(``--authorization-always-allow-paths``, default ``/healthz,/readyz,/livez``; an entry ending in
``*`` is a prefix) are allowed without any API call, even for anonymous requests; everything else
is a ``SubjectAccessReview`` (authorization.k8s.io/v1) with ``nonResourceAttributes {path, verb}``,
whose allow and deny answers are cached 10 s each. Without a client (no
``--authorization-kubeconfig``, not in a cluster) only the first two exist, so ``/metrics`` is 403.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from ccm.kube.clock import Clock
from ccm.kube.secure.authn import ReviewClient, UserInfo
from ccm.kube.secure.cache import TTLCache

log = logging.getLogger(__name__)

SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
DEFAULT_ALWAYS_ALLOW_PATHS = ("/healthz", "/readyz", "/livez")
ALWAYS_ALLOW_GROUPS = ("system:masters",)


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def path_allowed(path: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*") and path.startswith(pattern[:-1]):
            return True
        if path == pattern:
            return True
    return False


def validate_always_allow_paths(paths: Sequence[str]) -> None:
    """Upstream's check: every entry is absolute, and ``*`` may only end it."""
    for p in paths:
        if not p.startswith("/"):
            raise ValueError(f"--authorization-always-allow-paths: {p!r} must start with /")
        if "*" in p[:-1]:
            raise ValueError(f"--authorization-always-allow-paths: {p!r}: only a trailing * is allowed")


class DelegatingAuthorizer:
    def __init__(self, client: ReviewClient | None, *,
                 always_allow_paths: Sequence[str] = DEFAULT_ALWAYS_ALLOW_PATHS,
                 always_allow_groups: Sequence[str] = ALWAYS_ALLOW_GROUPS,
                 allowed_ttl: float = 10.0, denied_ttl: float = 10.0, clock: Clock | None = None) -> None:
        validate_always_allow_paths(always_allow_paths)
        self.client = client
        self.always_allow_paths = tuple(always_allow_paths)
        self.always_allow_groups = frozenset(always_allow_groups)
        self.allowed_ttl = allowed_ttl
        self.denied_ttl = denied_ttl
        self._cache: TTLCache[tuple[Any, ...], Decision] = TTLCache(clock=clock)
        self.reviews = 0  # SubjectAccessReviews sent

    def authorize(self, user: UserInfo, verb: str, path: str) -> Decision:
        if self.always_allow_groups.intersection(user.groups):
            return Decision(True, "always allowed group")
        if path_allowed(path, self.always_allow_paths):
            return Decision(True, "always allowed path")
        if self.client is None:
            return Decision(False, "no authorization client configured")
        key = (user.name, user.uid, user.groups, user.extra, verb, path)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            decision = self._review(user, verb, path)
        except Exception as exc:  # not cached: the next request asks again
            log.warning("subject access review failed: %s", exc)
            return Decision(False, f"authorization error: {exc}")
        self._cache.put(key, decision, self.allowed_ttl if decision.allowed else self.denied_ttl)
        return decision

    def _review(self, user: UserInfo, verb: str, path: str) -> Decision:
        assert self.client is not None
        spec: dict[str, Any] = {"user": user.name, "groups": list(user.groups),
                                "nonResourceAttributes": {"path": path, "verb": verb}}
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = user.extra_dict()
        self.reviews += 1
        result = self.client.create(SUBJECT_ACCESS_REVIEWS, {"apiVersion": "authorization.k8s.io/v1",
                                                             "kind": "SubjectAccessReview", "spec": spec})
        status = result.get("status") or {}
        return Decision(bool(status.get("allowed")) and not status.get("denied"), str(status.get("reason") or ""))
