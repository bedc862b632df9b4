"""Authentication, authorization and the review APIs of the embedded API server.

``users`` (who a request is: a static token file as kube-apiserver's ``--token-auth-file``, the
legacy single ``--token``, or anonymous), ``requestinfo`` (what a request asks: verb, resource or
path, as kube-apiserver's RequestInfoFactory), ``rbac`` (the RBAC authorizer over the stored
Roles and bindings, plus kube-apiserver's bootstrap policy), ``reviews`` (TokenReview,
SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectReview) and
``gate`` (what the HTTP layer calls for every request).
"""
