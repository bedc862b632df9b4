"""rbac.authorization.k8s.io/v1: Roles, ClusterRoles and their bindings (stored; evaluated by ``auth.rbac``).

Validation follows ``pkg/apis/rbac/validation``: every rule names verbs; a resource rule names
API groups and resources, a non-resource rule only URLs (and only in ClusterRoles); a binding
needs a ``roleRef`` (Role or ClusterRole in this group; a RoleBinding may point at either, a
ClusterRoleBinding only at a ClusterRole) that never changes, and subjects of kind User, Group or
ServiceAccount (the last with a namespace, for ClusterRoleBindings).
"""

from __future__ import annotations

from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy

GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ["Group", "ServiceAccount", "User"]


def _rule_errors(rules: Any, *, cluster: bool) -> list[FieldError]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        return [fe.invalid("rules", rules, "must be a list")]
    errs: list[FieldError] = []
    for i, rule in enumerate(rules):
        path = f"rules[{i}]"
        if not isinstance(rule, dict):
            errs.append(fe.invalid(path, rule, "must be an object"))
            continue
        if not rule.get("verbs"):
            errs.append(fe.required(f"{path}.verbs", "verbs must contain at least one value"))
        urls, resources = rule.get("nonResourceURLs") or [], rule.get("resources") or []
        if urls:
            if not cluster:
                errs.append(fe.invalid(f"{path}.nonResourceURLs", urls,
                                       "namespaced rules cannot apply to non-resource URLs"))
            if resources or rule.get("apiGroups"):
                errs.append(fe.invalid(f"{path}.nonResourceURLs", urls,
                                       "rules cannot apply to both regular resources and non-resource URLs"))
        else:
            if not rule.get("apiGroups"):  # [""] (the core group) is one group
                errs.append(fe.required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
            if not resources:
                errs.append(fe.required(f"{path}.resources", "resource rules must supply at least one resource"))
    return errs


class _RoleBase(Strategy):
    group = GROUP
    name_rule = "any"  # ValidateRBACName: a path segment ("system:discovery" is valid)

    def validate(self, obj: Obj) -> list[FieldError]:
        return _rule_errors(obj.get("rules"), cluster=not self.namespaced)


class RoleStrategy(_RoleBase):
    plural = "roles"
    singular = "role"
    kind = "Role"
    model = "V1Role"


class ClusterRoleStrategy(_RoleBase):
    plural = "clusterroles"
    singular = "clusterrole"
    kind = "ClusterRole"
    model = "V1ClusterRole"
    namespaced = False


class _BindingBase(Strategy):
    group = GROUP
    name_rule = "any"
    role_kinds: tuple[str, ...] = ("Role", "ClusterRole")

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        ref = obj.get("roleRef")
        if not isinstance(ref, dict):
            errs.append(fe.required("roleRef", ""))
        else:
            if ref.get("apiGroup") != GROUP:
                errs.append(fe.not_supported("roleRef.apiGroup", ref.get("apiGroup"), [GROUP]))
            if ref.get("kind") not in self.role_kinds:
                errs.append(fe.not_supported("roleRef.kind", ref.get("kind"), list(self.role_kinds)))
            if not ref.get("name"):
                errs.append(fe.required("roleRef.name", ""))
        for i, subject in enumerate(obj.get("subjects") or []):
            path = f"subjects[{i}]"
            if not isinstance(subject, dict):
                errs.append(fe.invalid(path, subject, "must be an object"))
                continue
            if subject.get("kind") not in SUBJECT_KINDS:
                errs.append(fe.not_supported(f"{path}.kind", subject.get("kind"), SUBJECT_KINDS))
            if not subject.get("name"):
                errs.append(fe.required(f"{path}.name", ""))
            if subject.get("kind") == "ServiceAccount" and not self.namespaced and not subject.get("namespace"):
                errs.append(fe.required(f"{path}.namespace", ""))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = self.validate(new)
        if new.get("roleRef") != old.get("roleRef"):
            errs.append(fe.invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))
        return errs


class RoleBindingStrategy(_BindingBase):
    plural = "rolebindings"
    singular = "rolebinding"
    kind = "RoleBinding"
    model = "V1RoleBinding"


class ClusterRoleBindingStrategy(_BindingBase):
    plural = "clusterrolebindings"
    singular = "clusterrolebinding"
    kind = "ClusterRoleBinding"
    model = "V1ClusterRoleBinding"
    namespaced = False
    role_kinds = ("ClusterRole",)


RBAC_STRATEGIES = (RoleStrategy, ClusterRoleStrategy, RoleBindingStrategy, ClusterRoleBindingStrategy)
