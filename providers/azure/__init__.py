"""Azure: one shared Standard load balancer per cluster (and one internal), each Service a set of
sub-resources on it, with azure-mgmt-network (and azure-identity for real credentials).

Follows kubernetes-sigs/cloud-provider-azure; deviations are documented in README.md. Layout:
``config`` reads azure.json, ``settings`` the Service's annotations, ``support`` declares which are
implemented, ``names`` builds names, IDs and ownership tags, ``clients`` the SDK client (endpoint,
credentials, counting, error mapping, LRO polling), ``observe`` the reads, ``desired`` and
``security`` the wanted state (pure), ``edits`` the pure edits of shared resources,
``plan`` the pure diff into ``operations``, ``apply`` the only module that sends a mutating call,
``loadbalancer`` the five methods, ``planning``, ``inventory`` and ``instances`` the optional
capabilities, ``cloud`` ties them together.

``ProviderContext.options``: the azure.json keys (``tenantId``, ``subscriptionId``,
``resourceGroup``, ``location``, ``vnetName``, ``vnetResourceGroup``, ``subnetName``,
``securityGroupName``, ``securityGroupResourceGroup``, ``loadBalancerSku``, ``vmType``,
``loadBalancerBackendPoolConfigurationType``, ``aadClientId``/``aadClientSecret``,
``useManagedIdentityExtension``, ``userAssignedIdentityID``, ``useFederatedWorkloadIdentityExtension``,
``aadFederatedTokenFile``) as :func:`parse_cloud_config` returns
them (``--cloud-config``; an unknown key in the file is a warning naming it), the flags
``azure-endpoint-url`` and ``azure-ca-file`` (an emulator), and the tuning options
``azure-retry-total`` (SDK retries, default 3), ``azure-retry-backoff`` (seconds, default 0.8)
and ``azure-poll-interval`` (seconds between LRO polls when the server gives no Retry-After,
default 2; a server's Retry-After, even 0, is honoured up to 60 s). Any other option is an error
naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.port import ProviderContext

if TYPE_CHECKING:
    from providers.azure.cloud import AzureCloud

annotation_provider = "azure"


def parse_cloud_config(text: str, source: str) -> dict[str, str]:
    """``--cloud-config``: azure.json (a JSON object) as provider options; an unknown key is a warning.

    Read by ``providers.cloudconfig`` for ``--cloud-provider azure``. Costs no SDK import.
    """
    from providers.azure.config import read_azure_json

    return read_azure_json(text, source)


def create(context: ProviderContext) -> AzureCloud:
    """Imported lazily so ``providers.azure.support`` (read by ``ccm annotations``) costs no SDK import."""
    from providers.azure.cloud import AzureCloud

    return AzureCloud(context)
