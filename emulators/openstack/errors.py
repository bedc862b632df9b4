"""OpenStack errors, one class per condition, rendered in the format of the service that raises them.

Every OpenStack service has its own error body, and clients (openstacksdk's ``raise_from_response``,
gophercloud) read the message out of each:

- Keystone: ``{"error": {"code": 401, "title": "Unauthorized", "message": "..."}}``;
- Octavia (pecan/wsme): ``{"faultcode": "Client", "faultstring": "...", "debuginfo": null}``;
- Neutron: ``{"NeutronError": {"type": "FloatingIPNotFound", "message": "...", "detail": ""}}``;
- Nova: ``{"itemNotFound": {"code": 404, "message": "..."}}`` (the key names the fault).

An ``ApiError`` carries the HTTP status, the message and the Neutron type name; ``render`` picks the
body for the service that answers, so one domain error (say a missing subnet) reads right whether
Neutron or Octavia reports it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

Json = dict[str, Any]

#: Nova's fault key per HTTP status (nova.api.openstack.wsgi's ``_ERROR_NAMES`` equivalent)
_NOVA_FAULTS = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
    406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit", 429: "overLimit",
    500: "computeFault", 501: "notImplemented", 503: "serviceUnavailable",
}


class ApiError(Exception):
    """An error answer: HTTP ``status``, human ``message``, Neutron ``type`` (the class name by default)."""

    status = 500
    neutron_type: str | None = None

    def __init__(self, message: str, *, status: int | None = None, neutron_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if neutron_type is not None:
            self.neutron_type = neutron_type
        self.headers = dict(headers or {})

    def render(self, service: str) -> Json:
        """The body ``service`` (identity, load-balancer, network, compute) answers with."""
        if service == "identity":
            return {"error": {"code": self.status, "title": HTTPStatus(self.status).phrase, "message": self.message}}
        if service == "network":
            kind = self.neutron_type or _neutron_default_type(self.status)
            return {"NeutronError": {"type": kind, "message": self.message, "detail": ""}}
        if service == "compute":
            return {_NOVA_FAULTS.get(self.status, "computeFault"): {"code": self.status, "message": self.message}}
        # Octavia (and anything unknown): wsme's fault body; 4xx are the client's fault
        return {"faultcode": "Client" if self.status < 500 else "Server", "faultstring": self.message,
                "debuginfo": None}


def _neutron_default_type(status: int) -> str:
    return {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
            405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 429: "HTTPTooManyRequests",
            503: "HTTPServiceUnavailable"}.get(status, "HTTPInternalServerError")


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str = "The request you have made requires authentication.") -> None:
        super().__init__(message)


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class NotAcceptable(ApiError):
    status = 406


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429


class NotImplementedByProvider(ApiError):
    """Octavia's ``ProviderNotImplementedError``/``UnsupportedOptionError`` (HTTP 501)."""

    status = 501


class ServiceUnavailable(ApiError):
    status = 503


# -- Octavia ---------------------------------------------------------------------------------------

def octavia_not_found(resource: str, ident: str) -> NotFound:
    return NotFound(f"{resource} {ident} not found.")


def immutable(resource: str, ident: str) -> Conflict:
    """Octavia's ``ImmutableObject``: the object (or its load balancer) is ``PENDING_*``."""
    return Conflict(f"{resource} {ident} is immutable and cannot be updated.")


def octavia_validation(detail: str) -> BadRequest:
    return BadRequest(f"Validation failure: {detail}")


def octavia_quota(resource: str) -> Forbidden:
    return Forbidden(f"Quota has been met for resources: {resource}")


def unsupported_option(provider: str, detail: str) -> NotImplementedByProvider:
    return NotImplementedByProvider(f"Provider '{provider}' does not support a requested option: {detail}")


# -- Neutron ---------------------------------------------------------------------------------------

def neutron_not_found(kind: str, ident: str) -> NotFound:
    """``NetworkNotFound`` & co; Neutron words its messages per resource, reproduced here."""
    words = {
        "network": ("NetworkNotFound", f"Network {ident} could not be found."),
        "subnet": ("SubnetNotFound", f"Subnet {ident} could not be found."),
        "port": ("PortNotFound", f"Port {ident} could not be found."),
        "floatingip": ("FloatingIPNotFound", f"Floating IP {ident} could not be found"),
        "security_group": ("SecurityGroupNotFound", f"Security group {ident} does not exist"),
        "security_group_rule": ("SecurityGroupRuleNotFound", f"Security group rule {ident} does not exist"),
    }
    kind_type, message = words.get(kind, ("HTTPNotFound", f"{kind} {ident} could not be found."))
    return NotFound(message, neutron_type=kind_type)


def neutron_bad_request(resource: str, detail: str) -> BadRequest:
    return BadRequest(f"Bad {resource} request: {detail}.", neutron_type="BadRequest")


def neutron_over_quota(resource: str) -> Conflict:
    return Conflict(f"Quota exceeded for resources: ['{resource}'].", neutron_type="OverQuota")
