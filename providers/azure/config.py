"""The cloud configuration (upstream ``azure.json``), read once at start-up from the provider options.

``ccm controller --cloud-config azure.json`` reads the JSON object with :func:`read_azure_json`
(through ``providers.azure.parse_cloud_config``) into ``ProviderContext.options`` (values as
strings; booleans ``true``/``false``); the flags ``--azure-endpoint-url`` and ``--azure-ca-file``
add ``azure-endpoint-url`` and ``azure-ca-file``. Every key upstream reads that this adapter does
not is accepted and named in one log line; a key in the file nobody knows is a warning naming it
and is dropped (upstream ignores unknown keys, but a typo such as ``securityGroupNmae`` must not
pass silently). An unknown provider option (``--provider-option``, another cloud's flag) is a
start-up error, as for every provider.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from types import MappingProxyType

from providers.adapter.options import check_known_options, positive_option

log = logging.getLogger(__name__)

PROVIDER = "azure"

#: azure.json keys this adapter implements
KNOWN_KEYS = frozenset({
    "cloud", "tenantId", "subscriptionId", "resourceGroup", "location", "vnetName", "vnetResourceGroup",
    "subnetName", "securityGroupName", "securityGroupResourceGroup", "loadBalancerSku", "vmType",
    "loadBalancerBackendPoolConfigurationType", "aadClientId", "aadClientSecret", "useManagedIdentityExtension",
    "userAssignedIdentityID", "loadBalancerResourceGroup", "tags", "useFederatedWorkloadIdentityExtension",
    "aadFederatedTokenFile",
})
#: keys upstream reads that change nothing here (accepted, listed once at start-up)
IGNORED_UPSTREAM_KEYS = frozenset({
    "aadClientCertPath", "aadClientCertPassword", "routeTableName", "routeTableResourceGroup",
    "primaryAvailabilitySetName", "primaryScaleSetName", "cloudProviderBackoff", "cloudProviderBackoffRetries",
    "cloudProviderBackoffExponent", "cloudProviderBackoffDuration", "cloudProviderBackoffJitter",
    "cloudProviderRateLimit", "cloudProviderRateLimitQPS", "cloudProviderRateLimitBucket",
    "cloudProviderRateLimitQPSWrite", "cloudProviderRateLimitBucketWrite", "useInstanceMetadata",
    "excludeMasterFromStandardLB", "disableOutboundSNAT", "maximumLoadBalancerRuleCount", "userAgent",
    "enableMultipleStandardLoadBalancers", "loadBalancerName", "putVMSSVMBatchSize", "identitySystem", "networkResourceTenantID",
    "networkResourceSubscriptionID", "nsgCacheTTLInSeconds", "vmCacheTTLInSeconds", "lbCacheTTLInSeconds",
    "availabilitySetNodesCacheTTLInSeconds", "vmssCacheTTLInSeconds", "routeTableCacheTTLInSeconds",
    "clusterServiceLoadBalancerHealthProbeMode", "clusterServiceSharedLoadBalancerHealthProbePort",
    "clusterServiceSharedLoadBalancerHealthProbePath", "enableMigrateToIPBasedBackendPoolAPI",
    "preConfiguredBackendPoolLoadBalancerTypes", "systemTags", "loadBalancerBackendPoolUpdateIntervalInSeconds",
})
#: flags and tuning options (``azure-...``), not azure.json keys
FLAG_KEYS = frozenset({
    "azure-endpoint-url", "azure-ca-file", "azure-retry-total", "azure-retry-backoff", "azure-poll-interval",
})

#: every option this provider reads (anything else is a start-up error naming it)
OPTIONS = KNOWN_KEYS | IGNORED_UPSTREAM_KEYS | FLAG_KEYS
#: azure.json keys by their lower-case spelling: upstream decodes the file with Go's case-insensitive JSON
_FILE_KEYS = {key.lower(): key for key in KNOWN_KEYS | IGNORED_UPSTREAM_KEYS}

#: what a build for offline planning (``ccm plan`` without ``--live``) uses where the cloud config says
#: nothing; the planner takes the subscription and resource group from the nodes' providerIDs where it can
PLACEHOLDERS = MappingProxyType({
    "subscriptionId": "<subscription>", "resourceGroup": "<resource-group>", "location": "<location>",
    "vnetName": "<vnet>", "subnetName": "<subnet>", "securityGroupName": "<security-group>",
})

NODE_IP_CONFIGURATION = "nodeIPConfiguration"
NODE_IP = "nodeIP"
DEFAULT_ENDPOINT = "https://management.azure.com"


def _bool(value: str | None) -> bool:
    return str(value or "").strip().lower() == "true"


@dataclasses.dataclass(frozen=True)
class AzureConfig:
    subscription_id: str
    resource_group: str
    location: str
    tenant_id: str = ""
    vnet_name: str = ""
    vnet_resource_group: str = ""
    subnet_name: str = ""
    security_group_name: str = ""
    security_group_resource_group: str = ""
    #: where the load balancers live (upstream ``loadBalancerResourceGroup``, default resourceGroup)
    load_balancer_resource_group: str = ""
    backend_pool_type: str = NODE_IP_CONFIGURATION
    vm_type: str = "standard"
    aad_client_id: str = ""
    aad_client_secret: str = dataclasses.field(default="", repr=False)
    use_managed_identity: bool = False
    user_assigned_identity_id: str = ""
    #: Azure Workload Identity (upstream ``useFederatedWorkloadIdentityExtension``): the projected
    #: ServiceAccount token in ``aadFederatedTokenFile`` exchanged for ``aadClientId``'s token
    use_workload_identity: bool = False
    federated_token_file: str = ""
    endpoint: str = DEFAULT_ENDPOINT
    #: an emulator's endpoint: a static bearer token when no credentials are configured
    custom_endpoint: bool = False
    ca_file: str | None = None
    retry_total: int = 3
    retry_backoff: float = 0.8
    poll_interval: float = 2.0
    #: cloud-config ``tags`` (``a=b,c=d``) for the load balancers
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def lb_resource_group(self) -> str:
        return self.load_balancer_resource_group or self.resource_group

    @property
    def nsg_resource_group(self) -> str:
        return self.security_group_resource_group or self.resource_group

    @property
    def vnet_group(self) -> str:
        return self.vnet_resource_group or self.resource_group

    @property
    def has_credentials(self) -> bool:
        return bool(self.aad_client_id or self.use_managed_identity or self.use_workload_identity)


def read_azure_json(text: str, source: str = "azure.json") -> dict[str, str]:
    """azure.json's top-level keys as provider options: strings as they are, booleans ``true``/``false``,
    numbers and nested values as JSON text, nulls left out; an unknown key is a warning naming it."""
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{source}: expected a JSON object")
    options: dict[str, str] = {}
    for raw_key, value in loaded.items():
        key = _FILE_KEYS.get(str(raw_key).lower())
        if key is None:
            log.warning("%s: unknown azure cloud-config key %r is ignored (check its spelling)", source, raw_key)
        elif isinstance(value, bool):
            options[key] = "true" if value else "false"
        elif isinstance(value, str):
            options[key] = value
        elif value is not None:
            options[key] = json.dumps(value)
    return options


def parse_config(options: Mapping[str, str], *, offline: bool = False) -> AzureConfig:
    """The config from the provider options; an unknown option, a missing required key or a bad value
    is a start-up error. ``offline``: what the options leave out is a placeholder (:data:`PLACEHOLDERS`)."""
    check_known_options(options, OPTIONS, provider=PROVIDER)
    if offline:
        options = {**PLACEHOLDERS, **{key: value for key, value in options.items() if value}}
    missing = [k for k in ("subscriptionId", "resourceGroup", "location") if not options.get(k)]
    if missing:
        raise ValueError(f"azure: the cloud config needs {', '.join(missing)}")
    sku = (options.get("loadBalancerSku") or "standard").lower()
    if sku != "standard":
        raise ValueError(f"azure: loadBalancerSku {options['loadBalancerSku']!r} is not supported; this adapter "
                         "builds Standard load balancers only (Basic is retired by Azure)")
    pool_type = options.get("loadBalancerBackendPoolConfigurationType") or NODE_IP_CONFIGURATION
    by_lower = {NODE_IP_CONFIGURATION.lower(): NODE_IP_CONFIGURATION, NODE_IP.lower(): NODE_IP}
    if pool_type.lower() not in by_lower:
        raise ValueError(f"azure: loadBalancerBackendPoolConfigurationType {pool_type!r} is not supported "
                         f"(use {NODE_IP_CONFIGURATION} or {NODE_IP})")
    vm_type = (options.get("vmType") or "standard").lower()
    if vm_type not in ("standard", "vm"):
        raise ValueError(f"azure: vmType {options['vmType']!r} is not supported (standalone VMs only: "
                         "'standard'; scale sets are a known gap)")
    workload_identity = _bool(options.get("useFederatedWorkloadIdentityExtension"))
    if options.get("aadClientId") and not options.get("aadClientSecret") and not workload_identity:
        raise ValueError("azure: aadClientId needs aadClientSecret, or useFederatedWorkloadIdentityExtension: true "
                         "for Azure Workload Identity (certificate credentials are not supported)")
    endpoint = options.get("azure-endpoint-url") or ""
    ignored = sorted(k for k in options if k in IGNORED_UPSTREAM_KEYS)
    if ignored:
        log.info("azure: cloud-config keys without effect in ccm: %s", ", ".join(ignored))
    return AzureConfig(
        subscription_id=options["subscriptionId"],
        resource_group=options["resourceGroup"],
        location=(options.get("location") or "").replace(" ", "").lower(),
        tenant_id=options.get("tenantId") or "",
        vnet_name=options.get("vnetName") or "",
        vnet_resource_group=options.get("vnetResourceGroup") or "",
        subnet_name=options.get("subnetName") or "",
        security_group_name=options.get("securityGroupName") or "",
        security_group_resource_group=options.get("securityGroupResourceGroup") or "",
        load_balancer_resource_group=options.get("loadBalancerResourceGroup") or "",
        backend_pool_type=by_lower[pool_type.lower()],
        vm_type=vm_type,
        aad_client_id=options.get("aadClientId") or "",
        aad_client_secret=options.get("aadClientSecret") or "",
        use_managed_identity=_bool(options.get("useManagedIdentityExtension")),
        user_assigned_identity_id=options.get("userAssignedIdentityID") or "",
        use_workload_identity=workload_identity,
        federated_token_file=options.get("aadFederatedTokenFile") or "",
        endpoint=(endpoint or DEFAULT_ENDPOINT).rstrip("/"),
        custom_endpoint=bool(endpoint),
        ca_file=options.get("azure-ca-file") or None,
        retry_total=int(options.get("azure-retry-total") or 3),
        retry_backoff=positive_option(options, "azure-retry-backoff", 0.8, provider=PROVIDER),
        poll_interval=positive_option(options, "azure-poll-interval", 2.0, provider=PROVIDER),
        tags=_tags(options.get("tags") or ""),
    )


def _tags(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if key.strip():
            out[key.strip()] = value.strip() if sep else ""
    return out
