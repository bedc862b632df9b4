"""boto3 clients for one provider instance: endpoint, region, retries, call counting, error mapping.

The endpoint is configurable so the same code runs against AWS, moto server or LocalStack:
``options["aws-endpoint-url"]`` wins, else boto3's own ``AWS_ENDPOINT_URL`` handling applies.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
import botocore.config
from botocore.exceptions import BotoCoreError, ClientError

from providers.adapter.options import positive_option
from providers.metrics import ApiCallCounter
from providers.port import RetryError, UserError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: codes botocore's standard retry mode already retried; after that the controller retries at a fixed delay
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled",
    "PriorRequestNotComplete", "EC2ThrottledException", "BandwidthLimitExceeded",
})
#: codes that mean "the request as written is wrong": the user must change the Service
USER_ERROR_CODES = frozenset({
    "ValidationError", "InvalidConfigurationRequest", "CertificateNotFound", "CertificateNotFoundException",
    "InvalidParameterValue", "InvalidParameterCombination", "InvalidParameter", "InvalidInput",
    "SSLPolicyNotFound", "PolicyNotFound", "PolicyTypeNotFound", "InvalidSecurityGroup",
    "InvalidSubnet", "SubnetNotFound", "InvalidScheme", "UnsupportedProtocol",
    "InvalidGroup.NotFound", "InvalidGroupId.Malformed", "InvalidSubnetID.NotFound",
    "TooManyTargetGroups", "TooManyListeners", "TooManyLoadBalancers", "TooManyTags",
    "DuplicateTagKeys", "InvalidPermission.Malformed", "RulesPerSecurityGroupLimitExceeded",
    # a name we need is taken by a resource without our tags (we never adopt it)
    "InvalidGroup.Duplicate", "DuplicateTargetGroupName", "DuplicateLoadBalancerName", "DuplicateAccessPointName",
})
#: codes that clear by themselves (a deleted load balancer's interfaces still hold a group)
SETTLING_CODES = frozenset({"DependencyViolation", "ResourceInUse", "OperationNotPermitted"})
#: seconds the controller waits after throttling survived the SDK's own retries
THROTTLE_RETRY_AFTER = 10.0
_READ_PREFIXES = ("Describe", "List", "Get")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def first_or_none(describe: Callable[[], Sequence[T]], not_found: Collection[str]) -> T | None:
    """The first item ``describe()`` lists; None when it lists none or AWS answers a ``not_found`` code."""
    try:
        items = describe()
    except ClientError as exc:
        if error_code(exc) in not_found:
            return None
        raise
    return items[0] if items else None


@dataclasses.dataclass
class Clients:
    """The three clients the adapter uses; all count their requests on one counter."""

    elb: Any
    elbv2: Any
    ec2: Any
    counter: ApiCallCounter
    region: str

    def by_service(self, service: str) -> Any:
        return getattr(self, service)


#: where the attempt's start time rides in botocore's per-request context
_STARTED = "ccm_attempt_started"


def _stamp(request: Any = None, **_: Any) -> None:
    """``request-created``: fired for every HTTP attempt, retries included."""
    if request is not None and isinstance(getattr(request, "context", None), dict):
        request.context[_STARTED] = time.monotonic()


def _count_hook(counter: ApiCallCounter, service: str) -> Any:
    def on_attempt(response: Any = None, operation: Any = None, caught_exception: Any = None,
                   request_dict: Any = None, **_: Any) -> None:
        name = operation.name if operation is not None else "unknown"
        ok = caught_exception is None and response is not None and response[0].status_code < 300
        started = ((request_dict or {}).get("context") or {}).get(_STARTED)
        code = str(((response[1] if response is not None else {}) or {}).get("Error", {}).get("Code", ""))
        counter.record(service, name, mutating=not name.startswith(_READ_PREFIXES), ok=ok,
                       seconds=time.monotonic() - started if started is not None else None,
                       throttled=code in THROTTLING_CODES)

    return on_attempt


def credentials(options: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(key id, secret, session token) from the options; all None means the boto3 chain.

    A key id without its secret (or the reverse) is a configuration error, not a silent fall back
    to whatever the environment holds.
    """
    key_id, secret, token = (options.get(k) or None for k in
                             ("aws-access-key-id", "aws-secret-access-key", "aws-session-token"))
    if (key_id is None) != (secret is None) or (token is not None and key_id is None):
        raise ValueError("aws: aws-access-key-id and aws-secret-access-key must be given together "
                         "(aws-session-token only with them)")
    return key_id, secret, token


#: the region of clients built for offline planning, which never send a request
OFFLINE_REGION = "us-east-1"


def make_clients(options: Mapping[str, str], counter: ApiCallCounter, *, offline: bool = False) -> Clients:
    """Build counted clients; every HTTP attempt (retries included) is one counted request.

    ``offline`` (``ProviderContext.offline``): the clients are never used, so a missing region is
    not an error. boto3 resolves credentials at the first request, never here.
    """
    key_id, secret, token = credentials(options)
    session = boto3.session.Session(region_name=options.get("aws-region") or None, aws_access_key_id=key_id,
                                    aws_secret_access_key=secret, aws_session_token=token)
    region = session.region_name or (OFFLINE_REGION if offline else None)
    if not region:
        raise ValueError("aws: no region configured; set --aws-region or AWS_REGION/AWS_DEFAULT_REGION")
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": int(positive_option(options, "aws-max-attempts", 3, int,
                                                                          provider="aws"))},
        connect_timeout=positive_option(options, "aws-connect-timeout", 10, provider="aws"),
        read_timeout=positive_option(options, "aws-read-timeout", 30, provider="aws"),
    )
    endpoint = options.get("aws-endpoint-url") or None
    built: dict[str, Any] = {}
    for service in ("elb", "elbv2", "ec2"):
        client = session.client(service, region_name=region, endpoint_url=endpoint,  # type: ignore[call-overload]
                                config=config)
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"request-created.{service_id}", _stamp)
        client.meta.events.register(f"needs-retry.{service_id}", _count_hook(counter, service))
        built[service] = client
    return Clients(elb=built["elb"], elbv2=built["elbv2"], ec2=built["ec2"], counter=counter, region=region)


@contextmanager
def translated_errors(key: str, what: str) -> Iterator[None]:
    """Turn SDK failures into the provider contract's errors (RetryError, UserError, other)."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        if code in THROTTLING_CODES:
            log.warning("%s: AWS throttled %s after retries: %s", key, what, message)
            raise RetryError(f"AWS throttled {what}: {code}: {message}", THROTTLE_RETRY_AFTER) from exc
        if code in SETTLING_CODES:
            log.info("%s: %s must wait: %s: %s", key, what, code, message)
            raise RetryError(f"{what}: {code}: {message}", THROTTLE_RETRY_AFTER) from exc
        if code in USER_ERROR_CODES:
            log.warning("%s: AWS rejected %s: %s: %s", key, what, code, message)
            raise UserError(f"AWS rejected {what}: {code}: {message}", reason=code.replace(".", "")) from exc
        raise
    except BotoCoreError as exc:
        log.warning("%s: AWS request failed during %s: %s", key, what, exc)
        raise
