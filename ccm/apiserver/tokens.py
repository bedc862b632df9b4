"""``POST .../serviceaccounts/NAME/token``: TokenRequest -> a bound service-account token.

The token is a JWT shaped like kube-apiserver's (issuer, audiences, expiry, the
``kubernetes.io`` claim naming the namespace and service account), signed HS256 with a key
this server generated at start. It is what ``kubectl create token`` prints, and the server
accepts it back (:func:`service_account_verifier`, registered with the request authenticator,
so it is a bearer token and TokenReview answers for it) while it is unexpired, meant for the
API server (or the audiences a TokenReview names) and its service account still exists with
the same uid.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from ccm.apiserver import errors
from ccm.apiserver import fielderrors as fe
from ccm.apiserver.auth.users import TokenVerifier, User

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
API_VERSION = "authentication.k8s.io/v1"
#: clock skew allowed on exp/nbf (go-jose's default leeway, which kube-apiserver uses)
LEEWAY = 60
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
#: kube-apiserver's extra key naming the token a request used (``JTI=<jti>``)
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())

    def verify(self, token: str, audiences: Sequence[str] = (), now: float | None = None) -> dict[str, Any] | None:
        """The claims of a token this issuer signed, within its lifetime and meant for one of
        ``audiences`` (empty: the API server, whose audience is the issuer), else None."""
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():  # a JWT is base64url: anything else is not one of ours
            return None
        header, payload, signature = parts
        if not hmac.compare_digest(self._sign(f"{header}.{payload}"), signature):
            return None
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:  # binascii.Error and JSONDecodeError included
            return None
        if not isinstance(claims, dict) or claims.get("iss") != ISSUER:
            return None
        now = datetime.datetime.now(datetime.UTC).timestamp() if now is None else now
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int) or not isinstance(nbf, int) or now > exp + LEEWAY or now < nbf - LEEWAY:
            return None
        aud = claims.get("aud")
        aud = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(aud) & set(audiences or (ISSUER,)):
            return None
        return claims

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
        signature = self._sign(f"{header}.{payload}")
        return {
            "kind": "TokenRequest", "apiVersion": API_VERSION,
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "creationTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": None},
            "status": {"token": f"{header}.{payload}.{signature}",
                       "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }


def service_account_verifier(issuer: TokenIssuer,
                             lookup: Callable[[str, str], dict[str, Any] | None]) -> TokenVerifier:
    """A verifier for the request authenticator: ``issuer``'s tokens prove their service account
    (``lookup(namespace, name)`` is the stored object) as kube-apiserver's authenticator does,
    with the service-account groups; a token outliving its account (or a recreated one) proves nothing."""

    def verify(token: str, audiences: Sequence[str]) -> User | None:
        claims = issuer.verify(token, audiences)
        if claims is None:
            return None
        private = claims.get("kubernetes.io")
        account = private.get("serviceaccount") if isinstance(private, dict) else None
        namespace = private.get("namespace") if isinstance(private, dict) else None
        if not isinstance(account, dict) or not isinstance(namespace, str) or not isinstance(account.get("name"), str):
            return None
        stored = lookup(namespace, account["name"])
        uid = (stored or {}).get("metadata", {}).get("uid", "")
        if stored is None or (account.get("uid") and account["uid"] != uid):
            return None
        extra = {CREDENTIAL_ID: (f"JTI={claims['jti']}",)} if isinstance(claims.get("jti"), str) else {}
        return User(f"system:serviceaccount:{namespace}:{account['name']}", uid,
                    (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}"), extra)

    return verify
