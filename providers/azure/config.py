"""The cloud configuration (upstream ``azure.json``), read once at start-up from the provider options.

``ccm controller --cloud-config azure.json`` flattens the JSON object into
``ProviderContext.options`` (values as strings; booleans ``true``/``false``); the flags
``--azure-endpoint-url`` and ``--azure-ca-file`` add ``azure-endpoint-url`` and ``azure-ca-file``.
Every key upstream reads that this adapter does not is accepted and named in one log line; a key
nobody knows is a warning naming it (a typo such as ``securityGroupNmae`` must not pass silently).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from providers.adapter.options import positive_option

log = logging.getLogger(__name__)

PROVIDER = "azure"

#: azure.json keys this adapter implements
KNOWN_KEYS = frozenset({
    "cloud", "tenantId", "subscriptionId", "resourceGroup", "location", "vnetName", "vnetResourceGroup",
    "subnetName", "securityGroupName", "securityGroupResourceGroup", "loadBalancerSku", "vmType",
    "loadBalancerBackendPoolConfigurationType", "aadClientId", "aadClientSecret", "useManagedIdentityExtension",
    "userAssignedIdentityID", "loadBalancerResourceGroup", "tags",
})
#: keys upstream reads that change nothing here (accepted, listed once at start-up)
IGNORED_UPSTREAM_KEYS = frozenset({
    "aadClientCertPath", "aadClientCertPassword", "routeTableName", "routeTableResourceGroup",
    "primaryAvailabilitySetName", "primaryScaleSetName", "cloudProviderBackoff", "cloudProviderBackoffRetries",
    "cloudProviderBackoffExponent", "cloudProviderBackoffDuration", "cloudProviderBackoffJitter",
    "cloudProviderRateLimit", "cloudProviderRateLimitQPS", "cloudProviderRateLimitBucket",
    "cloudProviderRateLimitQPSWrite", "cloudProviderRateLimitBucketWrite", "useInstanceMetadata",
    "excludeMasterFromStandardLB", "disableOutboundSNAT", "maximumLoadBalancerRuleCount", "userAgent",
    "enableMultipleStandardLoadBalancers", "loadBalancerName", "putVMSSVMBatchSize", "aadFederatedTokenFile",
    "useFederatedWorkloadIdentityExtension", "identitySystem", "networkResourceTenantID",
    "networkResourceSubscriptionID", "nsgCacheTTLInSeconds", "vmCacheTTLInSeconds", "lbCacheTTLInSeconds",
    "availabilitySetNodesCacheTTLInSeconds", "vmssCacheTTLInSeconds", "routeTableCacheTTLInSeconds",
    "clusterServiceLoadBalancerHealthProbeMode", "clusterServiceSharedLoadBalancerHealthProbePort",
    "clusterServiceSharedLoadBalancerHealthProbePath", "enableMigrateToIPBasedBackendPoolAPI",
    "preConfiguredBackendPoolLoadBalancerTypes", "systemTags", "loadBalancerBackendPoolUpdateIntervalInSeconds",
})
#: flags and tuning options (``azure-...``), not azure.json keys
FLAG_KEYS = frozenset({
    "azure-endpoint-url", "azure-ca-file", "azure-retry-total", "azure-retry-backoff", "azure-poll-interval",
    "azure-token",
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
    endpoint: str = DEFAULT_ENDPOINT
    #: an emulator's endpoint: a static bearer token when no credentials are configured
    custom_endpoint: bool = False
    ca_file: str | None = None
    retry_total: int = 3
    retry_backoff: float = 0.8
    poll_interval: float = 2.0
    #: cloud-config ``tags`` (``a=b,c=d``) for the load balancers
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: keys nobody knows (each logged as a warning)
    unknown_keys: tuple[str, ...] = ()

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
        return bool(self.aad_client_id or self.use_managed_identity)


def parse_config(options: Mapping[str, str]) -> AzureConfig:
    """The config from the provider options; a missing required key or a bad value is a start-up error."""
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
    if options.get("aadClientId") and not options.get("aadClientSecret"):
        raise ValueError("azure: aadClientId needs aadClientSecret (certificate credentials are not supported)")
    endpoint = options.get("azure-endpoint-url") or ""
    unknown = tuple(sorted(k for k in options if k not in KNOWN_KEYS | IGNORED_UPSTREAM_KEYS | FLAG_KEYS
                           and not k.startswith(("aws-", "gcp-", "gce-", "openstack-"))))
    for key in unknown:
        log.warning("azure: unknown cloud-config key %r is ignored (check its spelling)", key)
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
        endpoint=(endpoint or DEFAULT_ENDPOINT).rstrip("/"),
        custom_endpoint=bool(endpoint),
        ca_file=options.get("azure-ca-file") or None,
        retry_total=int(options.get("azure-retry-total") or 3),
        retry_backoff=positive_option(options, "azure-retry-backoff", 0.8, provider=PROVIDER),
        poll_interval=positive_option(options, "azure-poll-interval", 2.0, provider=PROVIDER),
        tags=_tags(options.get("tags") or ""),
        unknown_keys=unknown,
    )


def _tags(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if key.strip():
            out[key.strip()] = value.strip() if sep else ""
    return out
