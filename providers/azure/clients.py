"""The azure-mgmt-network client for one provider: endpoint, credentials, retries, counting, errors, LROs.

* Credentials: against a custom endpoint (``azure-endpoint-url``, an emulator) with no credentials
  in the config, a static bearer token goes through the SDK's real bearer-token policy; otherwise
  azure-identity: Azure Workload Identity (``useFederatedWorkloadIdentityExtension``: the projected
  ServiceAccount token in ``aadFederatedTokenFile`` for ``aadClientId`` in ``tenantId``, each falling
  back to the ``AZURE_*`` variables the webhook injects), a client secret (``aadClientId``/
  ``aadClientSecret``), a managed identity (``useManagedIdentityExtension``,
  ``userAssignedIdentityID``), else ``DefaultAzureCredential``.
* Every HTTP attempt (retries and LRO polls included) is counted by a per-retry pipeline policy:
  mutating = any method but GET.
* Long-running operations: azure-core's stock poller reads ``Retry-After: 0`` as "absent" and then
  waits its ``polling_interval`` (30 s by default); :class:`RetryAfterPolling` honours the server's
  Retry-After as given (0 included, capped at 60 s) and falls back to ``azure-poll-interval``.
* Errors: :func:`translated_errors` maps ARM answers to the port's errors: throttling (429,
  ``RetryableError``...) after the SDK's retries -> ``RetryError``; a request ARM refuses as
  written (``InvalidParameter``-class codes) -> ``UserError`` carrying Azure's code and message.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.network import NetworkManagementClient

from providers.azure.config import AzureConfig
from providers.azure.names import parse_id
from providers.metrics import ApiCallCounter
from providers.port import RetryError, UserError

log = logging.getLogger(__name__)

#: the labels upstream's Azure API metrics carry besides ``request``
METRIC_LABELS = ("resource_group", "subscription_id", "source")
#: codes that mean "come back later" once the SDK's own retries are spent
THROTTLING_CODES = frozenset({"TooManyRequests", "RetryableError", "SubscriptionRequestsThrottled",
                              "TooManyRequestsReceived", "OperationNotAllowed", "AnotherOperationInProgress",
                              "ReferencedResourceNotProvisioned", "Canceled"})
#: codes that mean the request as written is wrong: the user must change the Service (or the cloud)
USER_ERROR_CODES = frozenset({
    "InvalidParameter", "InvalidResourceReference", "InvalidResourceName", "InvalidRequestContent",
    "InvalidRequestFormat", "PublicIPAndLBSkuDoNotMatch", "PublicIPAddressInUse",
    "PublicIPReferencedByMultipleIPConfigs", "PrivateIPAddressNotInSubnet", "PrivateIPAddressInUse",
    "SubnetIsFull", "DnsRecordInUse", "InvalidDomainNameLabel", "PublicIPCountLimitReached",
    "SecurityRuleConflict", "SecurityRuleInvalidPriority", "SecurityRuleInvalidAddressPrefix",
    "SecurityRuleInvalidPortRange", "SecurityRuleParameterContainsUnsupportedValue",
    "SecurityRuleParametersMutuallyExclusive", "LoadBalancerSkuCannotBeChanged", "PublicIPSkuCannotBeChanged",
    "StandardSkuPublicIPAddressMustBeStatic", "InvalidProbe", "InvalidLoadBalancingRule",
    "LoadBalancingRuleWithProtocolAllAndPortZeroNotAllowed",
    "LoadBalancingRulesUseSameFrontendIpConfigurationAndFrontendPort",
    "LoadBalancingRulesUseSameBackendPortWithoutFloatingIp",
    "LoadBalancerCannotHavePublicAndPrivateFrontendIPConfigurations", "LocationRequired",
    "AuthorizationFailed", "LinkedAuthorizationFailed",
})
#: seconds the controller waits after throttling survived the SDK's retries (or a 412 storm)
THROTTLE_RETRY_AFTER = 10.0
#: the longest server-asked wait between LRO polls this adapter honours
MAX_POLL_DELAY = 60.0


class StaticToken:
    """A credential handing out one fixed bearer token (for an emulator, which accepts any)."""

    def __init__(self, token: str = "ccm-static-token") -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, int(time.time()) + 3600)


def credential_for(config: AzureConfig, token: str | None = None) -> Any:
    """The credential the config asks for (see the module docstring)."""
    if config.custom_endpoint and not config.has_credentials:
        return StaticToken(token or "ccm-static-token")
    import azure.identity

    if config.use_workload_identity:
        return azure.identity.WorkloadIdentityCredential(tenant_id=config.tenant_id or None,
                                                         client_id=config.aad_client_id or None,
                                                         token_file_path=config.federated_token_file or None)
    if config.aad_client_id:
        return azure.identity.ClientSecretCredential(config.tenant_id, config.aad_client_id,
                                                     config.aad_client_secret)
    if config.use_managed_identity:
        return azure.identity.ManagedIdentityCredential(client_id=config.user_assigned_identity_id or None)
    return azure.identity.DefaultAzureCredential()


class CountingPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Counts every HTTP attempt on the provider's :class:`ApiCallCounter`."""

    _STARTED = "ccm_started"

    def __init__(self, counter: ApiCallCounter) -> None:
        self.counter = counter

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        request.context[self._STARTED] = time.monotonic()

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        status = response.http_response.status_code
        self._record(request, ok=status < 400, throttled=status == 429)

    def on_exception(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        self._record(request, ok=False, throttled=False)

    def _record(self, request: PipelineRequest, *, ok: bool, throttled: bool) -> None:  # type: ignore[type-arg]
        http = request.http_request
        service, operation = operation_of(http.method, http.url)
        parsed = parse_id(http.url.split("?", 1)[0].split("://", 1)[-1].partition("/")[2])
        started = request.context.get(self._STARTED)
        self.counter.record(service, operation, mutating=http.method != "GET", ok=ok,
                            seconds=time.monotonic() - started if started is not None else None,
                            labels={"resource_group": parsed.get("group", ""),
                                    "subscription_id": parsed.get("subscription", ""), "source": "ccm"},
                            throttled=throttled)


_VERBS = {"GET": "Get", "PUT": "CreateOrUpdate", "DELETE": "Delete", "PATCH": "UpdateTags", "POST": "Action"}


def operation_of(method: str, url: str) -> tuple[str, str]:
    """(service, operation) for a request: ``("network", "LoadBalancersCreateOrUpdate")``."""
    path = url.split("?", 1)[0]
    parts = [p for p in path.split("://", 1)[-1].split("/")[1:] if p]
    lowered = [p.lower() for p in parts]
    if "operations" in lowered or "operationresults" in lowered:
        return "network", "OperationsGet"
    try:
        at = lowered.index("providers")
    except ValueError:
        return "resources", "ResourceGroups" + _VERBS.get(method, method)
    namespace = lowered[at + 1] if len(lowered) > at + 1 else ""
    rest = parts[at + 2:]
    types = [rest[i] for i in range(0, len(rest), 2)]
    kind = types[-1] if types else "unknown"
    verb = "List" if method == "GET" and len(rest) % 2 == 1 else _VERBS.get(method, method)
    service = "compute" if namespace == "microsoft.compute" else "network"
    return service, kind[:1].upper() + kind[1:] + verb


class RetryAfterPolling(ARMPolling):  # type: ignore[misc]
    """ARM polling that honours the server's Retry-After as given (0 means poll again at once)."""

    def __init__(self, fallback: float) -> None:
        super().__init__(timeout=fallback)

    def _extract_delay(self) -> float:
        headers = self._pipeline_response.http_response.headers
        for name, scale in (("retry-after", 1.0), ("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
            value = headers.get(name)
            if value is None:
                continue
            try:
                return min(MAX_POLL_DELAY, max(0.0, float(value) * scale))
            except ValueError:
                break  # an HTTP date: let the fallback apply
        return float(self._timeout)


@dataclasses.dataclass
class Clients:
    """The SDK client and what every call needs."""

    network: NetworkManagementClient
    config: AzureConfig
    counter: ApiCallCounter

    def polling(self) -> RetryAfterPolling:
        """A fresh poller for one long-running operation."""
        return RetryAfterPolling(self.config.poll_interval)

    def close(self) -> None:
        self.network.close()


def make_clients(config: AzureConfig, counter: ApiCallCounter, credential: Any = None) -> Clients:
    # azure-core logs every request and response at INFO; ccm's own lines say what was sent
    http_log = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    if http_log.level == logging.NOTSET:
        http_log.setLevel(logging.WARNING)
    kwargs: dict[str, Any] = {
        "base_url": config.endpoint,
        "retry_total": config.retry_total,
        "retry_backoff_factor": config.retry_backoff,
        "polling_interval": config.poll_interval,
        "per_retry_policies": [CountingPolicy(counter)],
    }
    if config.ca_file:
        kwargs["connection_verify"] = config.ca_file
    if config.custom_endpoint:
        kwargs["credential_scopes"] = [f"{config.endpoint}/.default"]
    network = NetworkManagementClient(credential or credential_for(config), config.subscription_id, **kwargs)
    return Clients(network=network, config=config, counter=counter)


def error_code(exc: BaseException) -> str:
    err = getattr(exc, "error", None)
    return str(getattr(err, "code", "") or "") if err is not None else ""


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ResourceNotFoundError) or getattr(exc, "status_code", None) == 404


def is_precondition_failed(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 412 or error_code(exc) == "PreconditionFailed"


def _retry_after(exc: HttpResponseError) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(1.0, float(value)) if value else THROTTLE_RETRY_AFTER
    except ValueError:
        return THROTTLE_RETRY_AFTER


@contextmanager
def translated_errors(key: str, what: str) -> Iterator[None]:
    """Turn SDK failures into the provider contract's errors (RetryError, UserError, other)."""
    try:
        yield
    except HttpResponseError as exc:
        code = error_code(exc)
        message = getattr(getattr(exc, "error", None), "message", None) or exc.message or str(exc)
        if exc.status_code == 429 or code in THROTTLING_CODES:
            log.warning("%s: Azure throttled or deferred %s: %s: %s", key, what, code or exc.status_code, message)
            raise RetryError(f"Azure {what}: {code or exc.status_code}: {message}", _retry_after(exc)) from exc
        if is_precondition_failed(exc):
            raise RetryError(f"Azure {what}: the resource kept changing under us ({message})",
                             1.0) from exc
        if code in USER_ERROR_CODES:
            log.warning("%s: Azure rejected %s: %s: %s", key, what, code, message)
            raise UserError(f"Azure rejected {what}: {code}: {message}", reason=code) from exc
        raise
