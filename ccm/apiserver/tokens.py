"""``POST .../serviceaccounts/NAME/token``: TokenRequest -> a bound service-account token.

The token is a JWT shaped like kube-apiserver's (issuer, audiences, expiry, the
``kubernetes.io`` claim naming the namespace and service account), signed HS256 with a key
this server generated at start. Nothing in this server authenticates with it; it is what
``kubectl create token`` prints and what a token reviewer would verify.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
from typing import Any

from ccm.apiserver import errors
from ccm.apiserver import fielderrors as fe

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
API_VERSION = "authentication.k8s.io/v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class TokenIssuer:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def request(self, service_account: dict[str, Any], body: Any, now: datetime.datetime | None = None) -> dict[str, Any]:
        """The TokenRequest answer for ``service_account`` (the stored object) and the request body."""
        if not isinstance(body, dict) or body.get("kind") not in (None, "TokenRequest") or \
                body.get("apiVersion") not in (None, API_VERSION):
            raise errors.bad_request("the body must be an authentication.k8s.io/v1 TokenRequest")
        spec: dict[str, Any] = body["spec"] if isinstance(body.get("spec"), dict) else {}
        meta = service_account["metadata"]
        expiration = spec.get("expirationSeconds")
        expiration = DEFAULT_EXPIRATION if expiration is None else expiration
        if not isinstance(expiration, int) or expiration < MIN_EXPIRATION or expiration > MAX_EXPIRATION:
            detail = ("may not specify a duration less than 10 minutes" if isinstance(expiration, int)
                      and expiration < MIN_EXPIRATION else "may not specify a duration larger than 2^32 seconds")
            raise errors.invalid("TokenRequest", meta["name"], [fe.invalid("spec.expirationSeconds", expiration,
                                                                              detail)], "authentication.k8s.io")
        audiences = [a for a in spec.get("audiences") or [] if isinstance(a, str)] or [ISSUER]
        now = now or datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        expires = now + datetime.timedelta(seconds=expiration)
        claims = {
            "aud": audiences, "exp": int(expires.timestamp()), "iat": int(now.timestamp()), "iss": ISSUER,
            "nbf": int(now.timestamp()), "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
            "jti": secrets.token_hex(16),
            "kubernetes.io": {"namespace": meta["namespace"],
                              "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")}},
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return {
            "kind": "TokenRequest", "apiVersion": API_VERSION,
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "creationTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": None},
            "status": {"token": f"{header}.{payload}.{signature}",
                       "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }
