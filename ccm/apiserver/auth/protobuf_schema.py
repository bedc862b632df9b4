"""The protobuf schema of the RBAC and review kinds, for the embedded API's protobuf codec.

kubectl 1.3x sends typed requests (``auth can-i``, ``auth whoami``, ``create clusterrolebinding``)
as Kubernetes protobuf. The codec (``ccm.apiserver.protobuf``, its schema as data: ``name:number[:type]``,
see that module) is not on this branch yet; when both are present, ``schema.py`` takes these three
tables in (``MESSAGES.update``, ``KINDS.update``, ``NON_LIST_KINDS |=``, ``PACKAGES.update``) and
``tests/apiserver/test_reviews.py::test_kubectl_auth_can_i_and_whoami`` runs instead of skipping.
Field numbers are the ``protobuf:"..."`` tags of k8s.io/api ``rbac/v1``, ``authorization/v1`` and
``authentication/v1`` (``generated.proto``).
"""

from __future__ import annotations

PACKAGES: dict[str, str] = {
    "rbac": "k8s.io.api.rbac.v1",
    "authorization": "k8s.io.api.authorization.v1",
    "authentication": "k8s.io.api.authentication.v1",
}

MESSAGES: dict[str, str] = {
    # --- k8s.io/api/rbac/v1 (AggregationRule is not served: no label selectors here)
    "rbac.PolicyRule": "verbs:1:[s] apiGroups:2:[s] resources:3:[s] resourceNames:4:[s] nonResourceURLs:5:[s]",
    "rbac.Role": "metadata:1:meta.ObjectMeta rules:2:[PolicyRule]",
    "rbac.ClusterRole": "metadata:1:meta.ObjectMeta rules:2:[PolicyRule]",
    "rbac.Subject": "kind:1 apiGroup:2 name:3 namespace:4",
    "rbac.RoleRef": "apiGroup:1 kind:2 name:3",
    "rbac.RoleBinding": "metadata:1:meta.ObjectMeta subjects:2:[Subject] roleRef:3:RoleRef",
    "rbac.ClusterRoleBinding": "metadata:1:meta.ObjectMeta subjects:2:[Subject] roleRef:3:RoleRef",
    # --- k8s.io/api/authorization/v1
    "authorization.ExtraValue": "items:1:[s]",
    "authorization.ResourceAttributes": "namespace:1 verb:2 group:3 version:4 resource:5 subresource:6 name:7",
    "authorization.NonResourceAttributes": "path:1 verb:2",
    "authorization.SubjectAccessReviewSpec": (
        "resourceAttributes:1:ResourceAttributes nonResourceAttributes:2:NonResourceAttributes user:3 "
        "groups:4:[s] extra:5:{ExtraValue} uid:6"),
    "authorization.SelfSubjectAccessReviewSpec": (
        "resourceAttributes:1:ResourceAttributes nonResourceAttributes:2:NonResourceAttributes"),
    "authorization.SubjectAccessReviewStatus": "allowed:1:b reason:2 evaluationError:3 denied?:4:b",
    "authorization.SubjectAccessReview": (
        "metadata:1:meta.ObjectMeta spec:2:SubjectAccessReviewSpec status:3:SubjectAccessReviewStatus"),
    "authorization.LocalSubjectAccessReview": (
        "metadata:1:meta.ObjectMeta spec:2:SubjectAccessReviewSpec status:3:SubjectAccessReviewStatus"),
    "authorization.SelfSubjectAccessReview": (
        "metadata:1:meta.ObjectMeta spec:2:SelfSubjectAccessReviewSpec status:3:SubjectAccessReviewStatus"),
    # --- k8s.io/api/authentication/v1
    "authentication.ExtraValue": "items:1:[s]",
    "authentication.UserInfo": "username:1 uid:2 groups:3:[s] extra:4:{ExtraValue}",
    "authentication.TokenReviewSpec": "token:1 audiences:2:[s]",
    "authentication.TokenReviewStatus": "authenticated:1:b user:2:UserInfo error:3 audiences:4:[s]",
    "authentication.TokenReview": "metadata:1:meta.ObjectMeta spec:2:TokenReviewSpec status:3:TokenReviewStatus",
    "authentication.SelfSubjectReviewStatus": "userInfo:1:UserInfo",
    "authentication.SelfSubjectReview": "metadata:1:meta.ObjectMeta status:2:SelfSubjectReviewStatus",
}

KINDS: dict[tuple[str, str], str] = {
    ("rbac.authorization.k8s.io/v1", "Role"): "rbac.Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "rbac.ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rbac.RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "rbac.ClusterRoleBinding",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "authorization.SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "authorization.LocalSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "authorization.SelfSubjectAccessReview",
    ("authentication.k8s.io/v1", "TokenReview"): "authentication.TokenReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "authentication.SelfSubjectReview",
}

#: the reviews are not stored: no List messages
NON_LIST_KINDS = frozenset({"SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview",
                            "TokenReview", "SelfSubjectReview"})
