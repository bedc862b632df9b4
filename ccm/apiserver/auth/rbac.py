"""Authorizers: AlwaysAllow, and RBAC over the stored Roles, ClusterRoles and bindings.

RBAC follows ``plugin/pkg/auth/authorizer/rbac``: members of ``system:masters`` may do anything
(kube-apiserver's privileged group); otherwise the ClusterRoleBindings are visited, then, for a
namespaced request, the RoleBindings of that namespace, and the first rule that matches allows.
Nothing denies explicitly: no match is "no opinion", which the server turns into 403.

With RBAC on, the server stores kube-apiserver's bootstrap policy the scraper and ccm need:
``cluster-admin`` (bound to ``system:masters``), ``system:discovery``, ``system:basic-user``
(self reviews; both bound to ``system:authenticated``), ``system:public-info-viewer`` (health and
version, also for ``system:unauthenticated``) and ``system:auth-delegator`` (token and subject
access reviews, for components that delegate, like ccm's secure port).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ccm.apiserver.auth.requestinfo import Attributes
from ccm.apiserver.auth.users import AUTHENTICATED, MASTERS, UNAUTHENTICATED, User

Obj = Mapping[str, Any]
Decision = tuple[bool, str]


class Authorizer(Protocol):
    def authorize(self, user: User, attrs: Attributes) -> Decision: ...


class AlwaysAllow:
    def authorize(self, user: User, attrs: Attributes) -> Decision:
        return True, ""


def _has(values: Sequence[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]


def _resource_matches(rule: Obj, attrs: Attributes) -> bool:
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    for r in rule.get("resources") or ():
        if r in ("*", combined):
            return True
        if attrs.subresource and r == f"*/{attrs.subresource}":
            return True
    return False


def _url_matches(rule: Obj, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        if url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(rule, attrs.path)
    names = rule.get("resourceNames") or ()
    return (_has(rule.get("apiGroups"), attrs.api_group) and _resource_matches(rule, attrs)
            and (not names or attrs.name in names))


def subject_matches(subject: Obj, user: User, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{ns}:{name}"
    return False


class PolicySource(Protocol):
    """What the RBAC authorizer reads from storage (cached objects, read-only)."""

    def cluster_role_bindings(self) -> Iterable[Obj]: ...

    def role_bindings(self, namespace: str) -> Iterable[Obj]: ...

    def cluster_role(self, name: str) -> Obj | None: ...

    def role(self, namespace: str, name: str) -> Obj | None: ...


class RBACAuthorizer:
    def __init__(self, source: PolicySource) -> None:
        self.source = source

    def authorize(self, user: User, attrs: Attributes) -> Decision:
        if MASTERS in user.groups:
            return True, ""
        for crb in self.source.cluster_role_bindings():
            if self._allows(crb, "", user, attrs):
                return True, _reason(crb, user)
        if attrs.resource_request and attrs.namespace:
            for rb in self.source.role_bindings(attrs.namespace):
                if self._allows(rb, attrs.namespace, user, attrs):
                    return True, _reason(rb, user)
        return False, ""

    def _allows(self, binding: Obj, namespace: str, user: User, attrs: Attributes) -> bool:
        if not any(subject_matches(s, user, namespace) for s in binding.get("subjects") or ()):
            return False
        ref = binding.get("roleRef") or {}
        role = (self.source.cluster_role(ref.get("name", "")) if ref.get("kind") == "ClusterRole"
                else self.source.role(namespace, ref.get("name", "")))
        return role is not None and any(rule_allows(r, attrs) for r in role.get("rules") or ())


def _reason(binding: Obj, user: User) -> str:
    ref = binding.get("roleRef") or {}
    kind = binding.get("kind") or ("RoleBinding" if (binding.get("metadata") or {}).get("namespace")
                                   else "ClusterRoleBinding")
    return (f'RBAC: allowed by {kind} "{(binding.get("metadata") or {}).get("name", "")}" of '
            f'{ref.get("kind", "")} "{ref.get("name", "")}" to User "{user.name}"')


def forbidden_message(user: User, attrs: Attributes) -> str:
    """kube-apiserver's 403 text."""
    if not attrs.resource_request:
        return f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    what = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    name = f' "{attrs.name}"' if attrs.name else ""
    scope = f' in the namespace "{attrs.namespace}"' if attrs.namespace else " at the cluster scope"
    return (f'{what}{name} is forbidden: User "{user.name}" cannot {attrs.verb} resource "{attrs.resource}" '
            f'in API group "{attrs.api_group}"{scope}')


# ---- the bootstrap policy ----------------------------------------------------------------------

_GROUP = "rbac.authorization.k8s.io"


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{_GROUP}/v1", "kind": "ClusterRole", "rules": rules,
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}}


def _binding(name: str, role: str, groups: Sequence[str]) -> dict[str, Any]:
    return {"apiVersion": f"{_GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": _GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": _GROUP, "kind": "Group", "name": g} for g in groups]}


_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]


def bootstrap_policy() -> list[dict[str, Any]]:
    """ClusterRoles first, then the bindings (the order they must be created in)."""
    return [
        _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                        {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _cluster_role("system:discovery", [{"nonResourceURLs": [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
            "/version", "/version/"], "verbs": ["get"]}]),
        _cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        _cluster_role("system:public-info-viewer", [{"nonResourceURLs": _PUBLIC_URLS, "verbs": ["get"]}]),
        _cluster_role("system:auth-delegator", [
            {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}]),
        _binding("cluster-admin", "cluster-admin", [MASTERS]),
        _binding("system:discovery", "system:discovery", [AUTHENTICATED]),
        _binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
        _binding("system:public-info-viewer", "system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED]),
    ]


class StorePolicy:
    """A :class:`PolicySource` over the server's store (``items``/``get`` by bucket and key)."""

    def __init__(self, items: Callable[[str, str | None], Iterable[Obj]], get: Callable[[str, str], Obj | None]):
        self._items = items
        self._get = get

    def cluster_role_bindings(self) -> Iterable[Obj]:
        return self._items("clusterrolebindings", None)

    def role_bindings(self, namespace: str) -> Iterable[Obj]:
        return self._items("rolebindings", namespace)

    def cluster_role(self, name: str) -> Obj | None:
        return self._get("clusterroles", name)

    def role(self, namespace: str, name: str) -> Obj | None:
        return self._get("roles", f"{namespace}/{name}")
