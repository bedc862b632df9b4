"""The review APIs as resources: create-only and never stored (``auth.reviews`` answers them).

They are strategies so discovery lists them (``kubectl api-resources`` shows ``create`` only) and
routing finds them; the HTTP layer hands a POST to the reviewer instead of the registry and
answers every other verb 405, as kube-apiserver does.
"""

from __future__ import annotations

from typing import ClassVar

from ccm.apiserver.strategies.base import Strategy


class ReviewStrategy(Strategy):
    stored: ClassVar[bool] = False
    verbs: ClassVar[tuple[str, ...] | None] = ("create",)
    allow_delete_collection = False


class TokenReviewStrategy(ReviewStrategy):
    group = "authentication.k8s.io"
    plural, singular, kind, model = "tokenreviews", "tokenreview", "TokenReview", "V1TokenReview"
    namespaced = False


class SelfSubjectReviewStrategy(ReviewStrategy):
    group = "authentication.k8s.io"
    plural, singular, kind, model = ("selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview",
                                     "V1SelfSubjectReview")
    namespaced = False


class SubjectAccessReviewStrategy(ReviewStrategy):
    group = "authorization.k8s.io"
    plural, singular, kind, model = ("subjectaccessreviews", "subjectaccessreview", "SubjectAccessReview",
                                     "V1SubjectAccessReview")
    namespaced = False


class SelfSubjectAccessReviewStrategy(ReviewStrategy):
    group = "authorization.k8s.io"
    plural, singular, kind, model = ("selfsubjectaccessreviews", "selfsubjectaccessreview",
                                     "SelfSubjectAccessReview", "V1SelfSubjectAccessReview")
    namespaced = False


class LocalSubjectAccessReviewStrategy(ReviewStrategy):
    group = "authorization.k8s.io"
    plural, singular, kind, model = ("localsubjectaccessreviews", "localsubjectaccessreview",
                                     "LocalSubjectAccessReview", "V1LocalSubjectAccessReview")


REVIEW_STRATEGIES = (TokenReviewStrategy, SelfSubjectReviewStrategy, SubjectAccessReviewStrategy,
                     SelfSubjectAccessReviewStrategy, LocalSubjectAccessReviewStrategy)
