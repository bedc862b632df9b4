"""API errors as kube-apiserver ``Status`` objects, with kube-apiserver's messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ccm.apiserver.fielderrors import FieldError

_REASON_OF_CODE = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    406: "NotAcceptable", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
    413: "RequestEntityTooLarge", 422: "Invalid", 500: "InternalError", 504: "Timeout",
}


class APIError(Exception):
    """An error the HTTP layer renders as a Status body with ``code`` as the HTTP status."""

    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else _REASON_OF_CODE.get(code, "")
        self.details = details
        #: ListMeta.continue for a 410 on an expired continue token (a fresh token to go on with)
        self.list_continue: str | None = None

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1",
                                "metadata": {"continue": self.list_continue} if self.list_continue else {},
                                "status": "Failure", "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def to_bytes(self) -> bytes:
        return json.dumps(self.status(), separators=(",", ":")).encode()


def _details(plural: str, name: str, group: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = plural
    return d


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str, group: str = "") -> APIError:
    return APIError(404, f'{_qualified(plural, group)} "{name}" not found', "NotFound", _details(plural, name, group))


def already_exists(plural: str, name: str, group: str = "") -> APIError:
    return APIError(409, f'{_qualified(plural, group)} "{name}" already exists', "AlreadyExists",
                    _details(plural, name, group))


def conflict(plural: str, name: str, group: str = "", why: str = "") -> APIError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return APIError(409, f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
                    "Conflict", _details(plural, name, group))


def invalid(kind: str, name: str, errs: Sequence[FieldError], group: str = "") -> APIError:
    """422 with one cause per field error (apierrors.NewInvalid)."""
    summary = str(errs[0]) if len(errs) == 1 else "[" + ", ".join(str(e) for e in errs) + "]"
    qual = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": e.reason, "message": e.body(), "field": e.field} for e in errs]
    return APIError(422, f'{qual} "{name}" is invalid: {summary}', "Invalid", details)


def bad_request(message: str) -> APIError:
    return APIError(400, message, "BadRequest")


def method_not_allowed() -> APIError:
    """A verb the route does not have (go-restful's answer, wrapped in a Status)."""
    return APIError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed", {})


def expired(message: str) -> APIError:
    return APIError(410, message, "Expired")


def request_entity_too_large(detail: str) -> APIError:
    """apierrors.NewRequestEntityTooLargeError."""
    return APIError(413, f"Request entity too large: {detail}", "RequestEntityTooLarge")


def timeout(message: str, retry_after: int = 0) -> APIError:
    """apierrors.NewTimeoutError: 504 ``Timeout: <message>`` with retryAfterSeconds."""
    details: dict[str, Any] = {"retryAfterSeconds": retry_after} if retry_after else {}
    return APIError(504, f"Timeout: {message}", "Timeout", details)


def too_large_resource_version(requested: int, current: int) -> APIError:
    """storage.NewTooLargeResourceVersionError: a list or watch from a revision not reached yet."""
    exc = timeout(f"Too large resource version: {requested}, current: {current}", 1)
    exc.details = {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                   "retryAfterSeconds": 1}
    return exc


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def unsupported_media_type(content_type: str) -> APIError:
    """kube-apiserver's 415, minus apply-patch+yaml: server-side apply is not implemented here."""
    return APIError(415, "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, "
                    f"application/strategic-merge-patch+json (got {content_type!r}; server-side apply "
                    "is not supported by this API server)", "UnsupportedMediaType")
