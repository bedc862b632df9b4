"""One openstacksdk connection per provider: Keystone auth, the catalog's endpoints, counting, errors.

openstacksdk finds Octavia, Neutron and Nova in the token's service catalog (region and interface
from cloud.conf) exactly as for any OpenStack user; nothing else is configured. Every HTTP request
(authentication and retries included) is counted on the provider's ``ApiCallCounter`` from a
response hook on the session. Reads (and token requests) answered 429 or 5xx are retried inside
the call by keystoneauth's own status-code retries (``Retry-After`` honoured, else exponential
from 0.5 s): they are safe to repeat, and one transient answer among a reconcile's reads must not
fail the whole reconcile. Mutations go through the executor's policy instead (a create answered
5xx may exist already). ``translated_errors`` maps SDK failures onto the port's errors:

* 400 (and 501, a provider refusing an option): ``UserError`` carrying the service's message;
* 403 (quotas, policy): ``UserError`` ``QuotaExceeded`` / ``Forbidden``;
* 409 outside an Octavia wait (an address or floating IP in use): ``UserError``;
* 429 and 5xx after the retries: ``RetryError`` (fixed-delay requeue);
* anything else propagates (exponential backoff).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import openstack
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as os_exceptions

from providers.metrics import ApiCallCounter
from providers.openstack.config import OpenStackConfig
from providers.port import RetryError, UserError

log = logging.getLogger(__name__)

THROTTLE_RETRY_AFTER = 10.0
#: retries of a read answered 429 or 5xx (keystoneauth's status-code retries)
READ_RETRIES = 3
RETRIABLE_STATUS = (429, 500, 502, 503, 504)
#: first path segments -> catalog service, for counting (the emulator and a cloud agree)
_SERVICE_OF = {"lbaas": "load-balancer", "v2.0": "network", "servers": "compute", "flavors": "compute",
               "auth": "identity"}
_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


def connect(config: OpenStackConfig, counter: ApiCallCounter) -> Any:
    """An openstacksdk ``Connection`` for ``config`` (no clouds.yaml, no OS_* environment)."""
    # without a cloud name openstacksdk reads neither clouds.yaml nor OS_* variables
    conn = openstack.connection.Connection(app_name="ccm",
                                           **config.auth.connection_kwargs())

    def on_response(response: Any, *args: Any, **kwargs: Any) -> Any:
        service, operation = operation_of(response.request.method, response.request.url)
        # a token request is a POST but changes nothing in the cloud
        counter.record(service, operation, mutating=service != "identity" and response.request.method not in ("GET", "HEAD"),
                       ok=response.status_code < 400,
                       seconds=response.elapsed.total_seconds(),
                       throttled=response.status_code == 429)
        return response

    conn.session.session.hooks["response"].append(on_response)
    _retry_reads(conn.session)
    return conn


def _retry_reads(session: Any) -> None:
    """Make keystoneauth retry reads and token requests answered 429 or 5xx (see the module docstring).

    keystoneauth's status-code retries are per request, not per method: they are set here for the
    requests that are safe to repeat, and left off for mutations.
    """
    request = session.request

    def with_read_retries(url: str, method: str, **kwargs: Any) -> Any:
        if method.upper() in ("GET", "HEAD") or (method.upper() == "POST" and url.endswith("/auth/tokens")):
            kwargs["status_code_retries"] = READ_RETRIES
            kwargs["retriable_status_codes"] = list(RETRIABLE_STATUS)
        return request(url, method, **kwargs)

    session.request = with_read_retries


def operation_of(method: str, url: str) -> tuple[str, str]:
    """(service, operation) for counting: ``GET .../lbaas/loadbalancers/<id>`` -> ``get_loadbalancers``."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    service = "identity" if "identity" in parts or "tokens" in parts else next(
        (svc for seg, svc in _SERVICE_OF.items() if seg in parts), "other")
    names = [p for p in parts if not _ID.match(p) and not re.match(r"^v\d", p)
             and p not in ("lbaas", "load-balancer", "networking", "compute", "identity")]
    verb = {"GET": "get" if parts and _ID.match(parts[-1]) else "list", "POST": "create", "PUT": "update",
            "DELETE": "delete"}.get(method, method.lower())
    return service, f"{verb}_{'_'.join(names) or 'root'}"


def status_of(exc: BaseException) -> int | None:
    if isinstance(exc, os_exceptions.HttpException):
        return exc.status_code
    if isinstance(exc, ks_exceptions.HttpError):
        return exc.http_status
    return None


def message_of(exc: BaseException) -> str:
    if isinstance(exc, os_exceptions.HttpException):
        return str(exc.details or exc.message)
    return str(exc)


def throttled(exc: BaseException) -> bool:
    """What the shared retry policy retries: 429 and the 5xx a proxy or a busy API answers."""
    return status_of(exc) in RETRIABLE_STATUS


@contextmanager
def translated_errors(key: str, what: str, *, keep_throttling: bool = False) -> Iterator[None]:
    """SDK failures -> the port's errors (see the module docstring).

    ``keep_throttling`` lets 429 and 5xx through untouched, for the shared retry policy around it.
    """
    try:
        yield
    except (UserError, RetryError):
        raise
    except (os_exceptions.HttpException, ks_exceptions.HttpError) as exc:
        status, message = status_of(exc), message_of(exc)
        if keep_throttling and throttled(exc):
            raise
        if status in RETRIABLE_STATUS:
            log.warning("%s: OpenStack answered %s to %s: %s", key, status, what, message)
            raise RetryError(f"OpenStack answered {status} to {what}: {message}", THROTTLE_RETRY_AFTER) from exc
        if status in (400, 409, 501):
            log.warning("%s: OpenStack rejected %s: %s", key, what, message)
            reason = "LoadBalancerOptionUnsupported" if status == 501 else "OpenStackRejected"
            raise UserError(f"OpenStack rejected {what}: {message}", reason=reason) from exc
        if status == 403:
            reason = "QuotaExceeded" if "quota" in message.lower() else "Forbidden"
            raise UserError(f"OpenStack refused {what}: {message}", reason=reason) from exc
        raise
