"""google-cloud-compute clients on the configured endpoint, request counting, operation waits and
the translation of Compute Engine errors into the provider contract's errors.

Every mutating call is a ``*_unary`` method (it returns the raw ``Operation``); its completion is
awaited here with the Region/Global/Zone operations client built on the *same* endpoint, because
``ExtendedOperation.result()`` polls ``compute.googleapis.com`` whatever ``api_endpoint`` says.
With an ``http://`` endpoint (an emulator) the clients use anonymous credentials; otherwise
google.auth's default chain. Every HTTP request, retries included, is counted from a response
hook on the transport's session (the SDK has no public per-request hook for all clients).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.cloud import compute_v1

from providers.metrics import ApiCallCounter
from providers.port import RetryError, UserError

log = logging.getLogger(__name__)

#: reasons and operation codes that mean "slow down": retried by the controller at a fixed delay
THROTTLING = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "QUOTA_EXCEEDED",
                        "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED"})
#: reasons that mean the request as built from the Service is not acceptable (a Warning event)
INVALID = frozenset({"invalid", "badRequest", "invalidParameter", "required", "IP_IN_USE_BY_ANOTHER_RESOURCE",
                     "INVALID_FIELD_VALUE", "INVALID_USAGE"})
RETRY_AFTER = 10.0
#: 5xx answers worth another try (Google's guidance: retry 429 and 5xx with exponential backoff)
TRANSIENT = (gexc.InternalServerError, gexc.BadGateway, gexc.ServiceUnavailable, gexc.GatewayTimeout)
#: reads are safe to repeat, so 429 and 5xx are retried inside the call (every attempt is counted):
#: the SDK's defaults retry only 503 on get/list (for up to 600 s) and nothing on listInstances or
#: operation waits, so one throttled read among the dozens of an ensure failed the whole reconcile
READ_RETRY = gretry.Retry(initial=0.25, maximum=2.0, multiplier=2.0, timeout=5.0,
                          predicate=gretry.if_exception_type(gexc.TooManyRequests, gexc.DeadlineExceeded, *TRANSIENT))
_READ_METHODS = ("get", "list", "list_instances", "wait")
OPERATION_TIMEOUT = 300.0

_PATH = re.compile(r"/compute/v1/projects/[^/]+(?:/(global|regions/([^/]+)|zones/([^/]+)))?"
                   r"(?:/([A-Za-z]+)(?:/([^/?]+)(?:/([A-Za-z]+))?)?)?")
_READ_VERBS = frozenset({"get", "list", "wait", "listInstances", "aggregatedList"})
_PREFIXED = {("region", "backendServices"): "regionBackendServices", ("region", "healthChecks"): "regionHealthChecks",
             ("region", "operations"): "regionOperations", ("zone", "operations"): "zoneOperations",
             ("global", "operations"): "globalOperations"}


class OperationFailed(Exception):
    """A Compute Engine operation ended ``DONE`` with ``error``."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.http_status = code, message, http_status


def request_name(method: str, path: str) -> tuple[str, bool, dict[str, str]]:
    """(``regionBackendServices.insert``, mutating, {region/zone labels}) for an HTTP request."""
    m = _PATH.search(path)
    if not m:
        return f"unknown.{method.lower()}", method != "GET", {}
    scope, region, zone, collection, name, action = m.groups()
    level = "global" if scope == "global" else "region" if region else "zone" if zone else "project"
    if collection is None:
        resource, verb = ("regions" if region else "zones"), "get"
    else:
        resource = _PREFIXED.get((level, collection), collection)
        verb = action or {"GET": "get" if name else "list", "POST": "insert", "DELETE": "delete",
                          "PATCH": "patch", "PUT": "update"}.get(method, method.lower())
    labels = {"region": region or "", "zone": zone or "", "version": "v1"}
    return f"{resource}.{verb}", verb not in _READ_VERBS, labels


@dataclasses.dataclass
class Clients:
    project: str
    region: str
    forwarding_rules: compute_v1.ForwardingRulesClient
    backend_services: compute_v1.RegionBackendServicesClient
    health_checks: compute_v1.RegionHealthChecksClient
    firewalls: compute_v1.FirewallsClient
    addresses: compute_v1.AddressesClient
    instance_groups: compute_v1.InstanceGroupsClient
    instances: compute_v1.InstancesClient
    regions: compute_v1.RegionsClient
    region_operations: compute_v1.RegionOperationsClient
    global_operations: compute_v1.GlobalOperationsClient
    zone_operations: compute_v1.ZoneOperationsClient
    operation_timeout: float = OPERATION_TIMEOUT

    def all(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name.endswith("s")
                     and f.name not in ("project", "region"))

    def close(self) -> None:
        for client in self.all():
            client.transport.close()

    # -- operations --------------------------------------------------------------------------

    def wait(self, op: compute_v1.Operation, what: str) -> compute_v1.Operation:
        """Wait until ``op`` is DONE (``wait`` calls on its scope's operations client); raise
        OperationFailed when it ended in error, RetryError when it outlives the timeout."""
        deadline = time.monotonic() + self.operation_timeout
        while op.status != compute_v1.Operation.Status.DONE:
            if time.monotonic() >= deadline:
                raise RetryError(f"{what}: operation {op.name} still running after {self.operation_timeout:.0f}s",
                                 RETRY_AFTER)
            if op.zone:
                op = self.zone_operations.wait(project=self.project, zone=op.zone.rsplit("/", 1)[-1],
                                               operation=op.name)
            elif op.region:
                op = self.region_operations.wait(project=self.project, region=op.region.rsplit("/", 1)[-1],
                                                 operation=op.name)
            else:
                op = self.global_operations.wait(project=self.project, operation=op.name)
        if op.error and op.error.errors:
            first = op.error.errors[0]
            raise OperationFailed(first.code, first.message, op.http_error_status_code or 400)
        return op


def _retry_reads(client: Any) -> None:
    """Give the client's read methods :data:`READ_RETRY` as their default (the SDK's wrapped-method table)."""
    transport = client.transport
    for name in _READ_METHODS:
        stub = getattr(transport, name, None)
        wrapped = transport._wrapped_methods.get(stub) if stub is not None else None
        if wrapped is not None and hasattr(wrapped, "_retry"):
            wrapped._retry = READ_RETRY


def _count_hook(counter: ApiCallCounter) -> Any:
    def on_response(response: Any, *args: Any, **kwargs: Any) -> Any:
        request = response.request
        name, mutating, labels = request_name(request.method, request.path_url)
        counter.record("compute", name, mutating, ok=response.status_code < 400,
                       seconds=response.elapsed.total_seconds(), labels=labels,
                       throttled=response.status_code == 429)
        return response
    return on_response


def make_clients(project: str, region: str, endpoint: str | None, counter: ApiCallCounter, *,
                 operation_timeout: float = OPERATION_TIMEOUT) -> Clients:
    kw: dict[str, Any] = {"transport": "rest"}
    if endpoint:
        kw["client_options"] = {"api_endpoint": endpoint}
        if endpoint.startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            kw["credentials"] = AnonymousCredentials()
    hook = _count_hook(counter)

    def build(cls: Any) -> Any:
        client = cls(**kw)
        # the REST transport's requests session; counting there sees every attempt of every call
        client.transport._session.hooks.setdefault("response", []).append(hook)
        _retry_reads(client)
        return client

    return Clients(
        project=project, region=region,
        forwarding_rules=build(compute_v1.ForwardingRulesClient),
        backend_services=build(compute_v1.RegionBackendServicesClient),
        health_checks=build(compute_v1.RegionHealthChecksClient),
        firewalls=build(compute_v1.FirewallsClient),
        addresses=build(compute_v1.AddressesClient),
        instance_groups=build(compute_v1.InstanceGroupsClient),
        instances=build(compute_v1.InstancesClient),
        regions=build(compute_v1.RegionsClient),
        region_operations=build(compute_v1.RegionOperationsClient),
        global_operations=build(compute_v1.GlobalOperationsClient),
        zone_operations=build(compute_v1.ZoneOperationsClient),
        operation_timeout=operation_timeout,
    )


def reason_of(exc: gexc.GoogleAPICallError) -> str:
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors else {}
    return str(first.get("reason", "")) if isinstance(first, dict) else str(getattr(first, "reason", ""))


def is_throttled(exc: BaseException) -> bool:
    if isinstance(exc, gexc.TooManyRequests):
        return True
    if isinstance(exc, gexc.GoogleAPICallError):
        return reason_of(exc) in THROTTLING
    return isinstance(exc, OperationFailed) and exc.code in THROTTLING


def _translated(exc: gexc.GoogleAPICallError | OperationFailed, key: str, what: str) -> Exception | None:
    """The port's error for a Compute Engine failure, or None to let it propagate as it is."""
    message = exc.message
    if is_throttled(exc):
        log.warning("%s: Compute Engine throttled %s: %s", key, what, message)
        return RetryError(f"Compute Engine throttled {what}: {message}", RETRY_AFTER)
    code = exc.code if isinstance(exc, OperationFailed) else reason_of(exc)
    status = exc.http_status if isinstance(exc, OperationFailed) else getattr(exc, "code", 0)
    if code in INVALID or (isinstance(exc, OperationFailed) and status == 400):
        log.warning("%s: Compute Engine rejected %s: %s", key, what, message)
        return UserError(f"Compute Engine rejected {what}: {message}", reason="InvalidLoadBalancerConfiguration")
    return None


@contextmanager
def translated_errors(key: str, what: str) -> Iterator[None]:
    """Compute Engine failures -> RetryError (throttling, quota), UserError (an invalid request,
    carrying Google's message), or the original exception (transient: exponential backoff).
    A read whose retries (``READ_RETRY``) ran out is judged by its last answer."""
    try:
        yield
    except gexc.RetryError as exc:
        last = exc.cause
        if not isinstance(last, gexc.GoogleAPICallError | OperationFailed):
            raise
        raise (_translated(last, key, what) or last) from exc
    except (gexc.GoogleAPICallError, OperationFailed) as exc:
        translated = _translated(exc, key, what)
        if translated is None:
            raise
        raise translated from exc
