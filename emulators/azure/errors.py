"""ARM errors: one class per error code, with ARM's HTTP status and message shape.

The wire renders every :class:`ArmError` as ARM does::

    {"error": {"code": "InvalidResourceReference", "message": "...", "details": []}}

``azure.core`` turns that into ``HttpResponseError`` (``ResourceNotFoundError`` for 404,
``ResourceExistsError`` for 409, ``ResourceModifiedError`` for 412) whose ``.error.code`` is
the code below. Codes and messages follow what ARM answers for the same mistake; where ARM's
exact wording is not known the message still names the resources involved, as ARM's do.
"""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """Base: an ARM error response."""

    status = 400
    code = "BadRequest"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        self.details = list(details or [])

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ArmError:
    """An error with any status and code (fault injection, operation failures)."""
    err = ArmError(message, headers=headers)
    err.status = status
    err.code = code
    return err


# ---- request-level ---------------------------------------------------------------------------

class AuthenticationFailed(ArmError):
    status, code = 401, "AuthenticationFailed"


class MissingApiVersionParameter(ArmError):
    code = "MissingApiVersionParameter"

    def __init__(self) -> None:
        super().__init__("The api-version query parameter (?api-version=) is required for all requests.")


class InvalidApiVersionParameter(ArmError):
    code = "InvalidApiVersionParameter"

    def __init__(self, version: str, rtype: str, supported: list[str]) -> None:
        super().__init__(
            f"The api-version '{version}' is invalid for resource type '{rtype}'. "
            f"The supported versions are '{', '.join(supported)}'.")


class InvalidRequestContent(ArmError):
    code = "InvalidRequestContent"


class InvalidRequestFormat(ArmError):
    code = "InvalidRequestFormat"


class InvalidResourceName(ArmError):
    code = "InvalidResourceName"

    def __init__(self, name: str, rtype: str) -> None:
        super().__init__(
            f"Resource name {name} is invalid. The name can be up to 80 characters long. It must begin "
            "with a word character, and it must end with a word character or with '_'. The name may "
            f"contain word characters or '.', '-', '_'. (type {rtype})")


class InvalidResourceType(ArmError):
    status, code = 404, "InvalidResourceType"


class MethodNotAllowed(ArmError):
    status, code = 405, "MethodNotAllowed"


class NotFound(ArmError):
    status, code = 404, "NotFound"


class ResourceNotFound(ArmError):
    status, code = 404, "ResourceNotFound"

    def __init__(self, rid: str) -> None:
        super().__init__(f"The Resource '{rid}' was not found.")


class ResourceGroupNotFound(ArmError):
    status, code = 404, "ResourceGroupNotFound"

    def __init__(self, rg: str) -> None:
        super().__init__(f"Resource group '{rg}' could not be found.")


class SubscriptionNotFound(ArmError):
    status, code = 404, "SubscriptionNotFound"

    def __init__(self, sub: str) -> None:
        super().__init__(f"The subscription '{sub}' could not be found.")


class PreconditionFailed(ArmError):
    status, code = 412, "PreconditionFailed"


class TooManyRequests(ArmError):
    status, code = 429, "TooManyRequests"


class LocationRequired(ArmError):
    code = "LocationRequired"

    def __init__(self) -> None:
        super().__init__("The location property is required for this definition.")


class InvalidParameter(ArmError):
    code = "InvalidParameter"


class InvalidResourceReference(ArmError):
    code = "InvalidResourceReference"

    def __init__(self, target: str, referrer: str) -> None:
        super().__init__(
            f"Resource {target} referenced by resource {referrer} was not found. Please make sure that "
            "the referenced resource exists, and that both resources are in the same region.")


class DuplicateResourceName(ArmError):
    code = "DuplicateResourceName"

    def __init__(self, parent: str, kind: str, name: str) -> None:
        super().__init__(f"Resource {parent} has two child resources of type {kind} with the same name {name}.")


# ---- load balancers --------------------------------------------------------------------------

class LoadBalancerSkuCannotBeChanged(ArmError):
    code = "LoadBalancerSkuCannotBeChanged"


class PublicIPAndLBSkuDoNotMatch(ArmError):
    code = "PublicIPAndLBSkuDoNotMatch"


class PublicIPAddressInUse(ArmError):
    code = "PublicIPAddressInUse"


class PublicIPAddressCannotBeDeleted(ArmError):
    code = "PublicIPAddressCannotBeDeleted"


class PublicIPReferencedByMultipleIPConfigs(ArmError):
    code = "PublicIPReferencedByMultipleIPConfigs"


class PrivateIPAddressNotInSubnet(ArmError):
    code = "PrivateIPAddressNotInSubnet"


class PrivateIPAddressInUse(ArmError):
    code = "PrivateIPAddressInUse"


class SubnetIsFull(ArmError):
    code = "SubnetIsFull"


class LoadBalancerFrontendIPConfigurationsMixed(ArmError):
    """Public and private frontends on one load balancer (ARM refuses the mix)."""

    code = "LoadBalancerCannotHavePublicAndPrivateFrontendIPConfigurations"


class RulesUseSameFrontendIPAndPort(ArmError):
    code = "LoadBalancingRulesUseSameFrontendIpConfigurationAndFrontendPort"


class RulesUseSameBackendPort(ArmError):
    code = "LoadBalancingRulesUseSameBackendPortWithoutFloatingIp"


class HaPortsRuleNotAllowed(ArmError):
    code = "LoadBalancingRuleWithProtocolAllAndPortZeroNotAllowed"


class InvalidProbe(ArmError):
    code = "InvalidProbe"


class InvalidLoadBalancingRule(ArmError):
    code = "InvalidLoadBalancingRule"


class InUseBackendAddressPoolCannotBeDeleted(ArmError):
    code = "InUseBackendAddressPoolCannotBeDeleted"


class MixedBackendPoolMembers(ArmError):
    code = "BackendAddressPoolCannotHaveIpConfigurationsAndIpAddresses"


# ---- public IPs ------------------------------------------------------------------------------

class StandardSkuPublicIPAddressMustBeStatic(ArmError):
    code = "StandardSkuPublicIPAddressMustBeStatic"


class PublicIPSkuCannotBeChanged(ArmError):
    code = "PublicIPSkuCannotBeChanged"


class DnsRecordInUse(ArmError):
    code = "DnsRecordInUse"


class InvalidDomainNameLabel(ArmError):
    code = "InvalidDomainNameLabel"


class PublicIPCountLimitReached(ArmError):
    code = "PublicIPCountLimitReached"


# ---- security groups -------------------------------------------------------------------------

class SecurityRuleConflict(ArmError):
    code = "SecurityRuleConflict"

    def __init__(self, rule: str, other: str) -> None:
        super().__init__(
            f"Security rule {rule} conflicts with rule {other}. "
            "Rules cannot have the same Priority and Direction.")


class SecurityRuleInvalidPriority(ArmError):
    code = "SecurityRuleInvalidPriority"


class SecurityRuleInvalidAddressPrefix(ArmError):
    code = "SecurityRuleInvalidAddressPrefix"


class SecurityRuleInvalidPortRange(ArmError):
    code = "SecurityRuleInvalidPortRange"


class SecurityRuleParameterContainsUnsupportedValue(ArmError):
    code = "SecurityRuleParameterContainsUnsupportedValue"


class SecurityRuleParametersMutuallyExclusive(ArmError):
    code = "SecurityRuleParametersMutuallyExclusive"


# ---- network interfaces ----------------------------------------------------------------------

class NicMustHavePrimaryIpConfiguration(ArmError):
    code = "NetworkInterfaceMustHaveExactlyOnePrimaryIpConfiguration"
