"""Which azure-identity credential an azure.json selects, as upstream's cloud-provider-azure does."""

from __future__ import annotations

from pathlib import Path

import azure.identity
import pytest

from providers.azure.clients import StaticToken, credential_for
from providers.azure.config import parse_config

BASE = {"subscriptionId": "sub", "resourceGroup": "rg", "location": "westeurope", "tenantId": "tenant-1"}


def config(**options: str):  # type: ignore[no-untyped-def]
    return parse_config({**BASE, **options})


def test_workload_identity_exchanges_the_projected_token_named_in_the_config(tmp_path: Path) -> None:
    token_file = tmp_path / "azure-identity-token"
    cfg = config(aadClientId="client-1", useFederatedWorkloadIdentityExtension="true",
                 aadFederatedTokenFile=str(token_file))
    credential = credential_for(cfg)
    assert isinstance(credential, azure.identity.WorkloadIdentityCredential)
    # the file is read before any network call: a missing projected token names its path
    with pytest.raises(Exception, match=str(token_file)):
        credential.get_token("https://management.azure.com/.default")


def test_a_client_id_alone_is_refused_naming_both_ways_to_complete_it() -> None:
    with pytest.raises(ValueError, match="aadClientSecret, or useFederatedWorkloadIdentityExtension"):
        config(aadClientId="client-1")


@pytest.mark.parametrize(("options", "kind"), [
    ({"aadClientId": "c", "aadClientSecret": "s"}, azure.identity.ClientSecretCredential),
    ({"useManagedIdentityExtension": "true"}, azure.identity.ManagedIdentityCredential),
    ({}, azure.identity.DefaultAzureCredential),  # the webhook's AZURE_* environment, among others
    ({"azure-endpoint-url": "https://127.0.0.1:1"}, StaticToken),  # an emulator, no credentials
])
def test_the_other_credentials(options: dict[str, str], kind: type) -> None:
    assert isinstance(credential_for(config(**options)), kind)
