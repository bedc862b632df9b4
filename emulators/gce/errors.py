"""Compute Engine errors as the API returns them: an HTTP status, a reason and Google's message.

One class per reason, each with the status Compute Engine pairs it with. ``body()`` renders the
JSON error envelope the Google client libraries parse (``google.api_core.exceptions`` picks the
exception class from the status; the adapter reads the reason from ``errors[0].reason``).
Operation errors (an operation that ends ``DONE`` with ``error``) use upper-case codes instead
(``QUOTA_EXCEEDED``); ``OperationError`` carries those.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GoogleError(Exception):
    """An error response: ``status`` HTTP code, ``reason`` (errors[0].reason), ``message``."""

    status: ClassVar[int] = 400
    reason: ClassVar[str] = "invalid"
    status_text: ClassVar[str] = "INVALID_ARGUMENT"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {
            "code": self.status, "message": self.message, "status": self.status_text,
            "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
        }}


class Invalid(GoogleError):
    pass


class BadRequest(GoogleError):
    reason = "badRequest"


class InvalidParameter(GoogleError):
    reason = "invalidParameter"


class ResourceInUse(GoogleError):
    reason = "resourceInUseByAnotherResource"
    status_text = "FAILED_PRECONDITION"


class NotFound(GoogleError):
    status = 404
    reason = "notFound"
    status_text = "NOT_FOUND"


class AlreadyExists(GoogleError):
    status = 409
    reason = "alreadyExists"
    status_text = "ALREADY_EXISTS"


class ConditionNotMet(GoogleError):
    """A stale fingerprint on update/patch (HTTP 412)."""

    status = 412
    reason = "conditionNotMet"
    status_text = "FAILED_PRECONDITION"


class RateLimitExceeded(GoogleError):
    status = 429
    reason = "rateLimitExceeded"
    status_text = "RESOURCE_EXHAUSTED"


class BackendError(GoogleError):
    status = 503
    reason = "backendError"
    status_text = "UNAVAILABLE"


class InternalError(GoogleError):
    status = 500
    reason = "internalError"
    status_text = "INTERNAL"


class MethodNotAllowed(GoogleError):
    status = 405
    reason = "httpMethodNotAllowed"
    status_text = "METHOD_NOT_ALLOWED"


#: HTTP status -> the error class fault injection raises for it
BY_STATUS: dict[int, type[GoogleError]] = {
    400: BadRequest, 404: NotFound, 409: AlreadyExists, 412: ConditionNotMet,
    429: RateLimitExceeded, 500: InternalError, 503: BackendError,
}


def for_status(status: int, message: str | None = None) -> GoogleError:
    cls = BY_STATUS.get(status, InternalError)
    return cls(message or f"Injected fault: HTTP {status} ({cls.reason})")


class OperationError(Exception):
    """A failure reported inside an Operation (``status: DONE`` plus ``error``), not as the HTTP reply.

    ``http_status`` becomes ``httpErrorStatusCode``: google-api-core raises the matching exception
    class from it when a client waits on the operation through ``ExtendedOperation``.
    """

    _STATUS_TEXT: ClassVar[dict[int, str]] = {
        400: "BAD REQUEST", 403: "FORBIDDEN", 404: "NOT FOUND", 409: "CONFLICT",
        429: "TOO MANY REQUESTS", 500: "INTERNAL SERVER ERROR", 503: "SERVICE UNAVAILABLE",
    }

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.http_status = code, message, http_status

    def fields(self) -> dict[str, Any]:
        return {
            "error": {"errors": [{"code": self.code, "message": self.message}]},
            "httpErrorStatusCode": self.http_status,
            "httpErrorMessage": self._STATUS_TEXT.get(self.http_status, "ERROR"),
        }


def quota_exceeded(metric: str, limit: int, region: str | None) -> OperationError:
    where = f" in region {region}" if region else ""
    return OperationError("QUOTA_EXCEEDED", f"Quota '{metric}' exceeded.  Limit: {limit}.0{where}.", 403)
