"""Secure serving for ccm's own endpoints, as k8s.io/apiserver's delegated options do it.

``ccm.tls`` (a certificate from files, or a self-signed one made in memory), ``authn`` (bearer
tokens checked with a TokenReview, anonymous otherwise), ``authz`` (``system:masters``, the
always-allow paths, then a SubjectAccessReview), ``cache`` (the TTL cache both use) and
``chain`` (the filter in front of the handlers: 401, 403 or through).
"""
