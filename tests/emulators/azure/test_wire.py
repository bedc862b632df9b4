"""The wire: bearer auth, api-version, ARM error bodies, LRO headers, ETags, paging, tags."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulators.azure import AzureEmulator

from .helpers import LOCATION, RG, error_code, lb_id, public_ip


def raw(arm: AzureEmulator, method: str, path: str, body: Any = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    ctx = ssl.create_default_context(cafile=arm.ca_file)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(arm.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            payload = resp.read()
            return resp.status, dict(resp.headers), json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        return exc.code, dict(exc.headers), json.loads(payload) if payload else None


AUTH = {"Authorization": "Bearer anything"}


def pip_path(arm: AzureEmulator, name: str = "pip1", version: str | None = "2026-03-01") -> str:
    q = f"?api-version={version}" if version else ""
    return f"/subscriptions/{arm.subscription}/resourceGroups/{RG}/providers/Microsoft.Network/publicIPAddresses/{name}{q}"


def test_requests_without_a_bearer_token_are_refused(arm: AzureEmulator) -> None:
    status, headers, body = raw(arm, "GET", pip_path(arm))
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(("version", "code"), [(None, "MissingApiVersionParameter"),
                                               ("2099-01-01", "InvalidApiVersionParameter")])
def test_api_version_is_checked(arm: AzureEmulator, version: str | None, code: str) -> None:
    status, _, body = raw(arm, "GET", pip_path(arm, version=version), headers=AUTH)
    assert (status, body["error"]["code"]) == (400, code)


def test_the_sdk_default_api_version_is_served(arm: AzureEmulator) -> None:
    from azure.mgmt.network.operations import _operations

    from emulators.azure.registry import API_VERSIONS

    request = _operations.build_load_balancers_get_request("rg", "lb", arm.subscription)
    assert request.url.split("api-version=")[1] in API_VERSIONS["microsoft.network"]


def test_missing_resource_and_group_are_arm_404s(arm: AzureEmulator, net: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as e:
        net.load_balancers.get(RG, "nope")
    assert error_code(e.value) == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as e:
        net.load_balancers.get("no-such-group", "nope")
    assert error_code(e.value) == "ResourceGroupNotFound"


def test_put_is_a_long_running_operation(arm: AzureEmulator) -> None:
    body = {"location": LOCATION, "sku": {"name": "Standard"},
            "properties": {"publicIPAllocationMethod": "Static"}}
    status, headers, created = raw(arm, "PUT", pip_path(arm), body, AUTH)
    assert status == 201
    assert created["properties"]["provisioningState"] == "Updating"
    assert "/providers/Microsoft.Network/locations/eastus/operations/" in headers["Azure-AsyncOperation"]
    assert headers["Retry-After"] == "0"
    op_path = headers["Azure-AsyncOperation"].split(arm.url, 1)[1]
    status, _, op = raw(arm, "GET", op_path, headers=AUTH)
    assert (status, op["status"]) == (200, "Succeeded")
    status, _, again = raw(arm, "PUT", pip_path(arm), body, AUTH)
    assert status == 200
    assert again["properties"]["ipAddress"] == created["properties"]["ipAddress"]
    assert again["etag"] != created["etag"]


def test_operation_stays_in_progress_for_lro_seconds(arm: AzureEmulator, net: Any) -> None:
    arm.state.lro_seconds = 3600
    body = {"location": LOCATION, "sku": {"name": "Standard"},
            "properties": {"publicIPAllocationMethod": "Static"}}
    _, headers, _ = raw(arm, "PUT", pip_path(arm), body, AUTH)
    op_path = headers["Azure-AsyncOperation"].split(arm.url, 1)[1]
    assert raw(arm, "GET", op_path, headers=AUTH)[2]["status"] == "InProgress"
    assert net.public_ip_addresses.get(RG, "pip1").provisioning_state == "Updating"
    arm.state.finish_operations()
    assert raw(arm, "GET", op_path, headers=AUTH)[2]["status"] == "Succeeded"
    assert net.public_ip_addresses.get(RG, "pip1").provisioning_state == "Succeeded"


def test_delete_answers_202_then_204(arm: AzureEmulator, net: Any) -> None:
    public_ip(net, "pip1")
    status, headers, _ = raw(arm, "DELETE", pip_path(arm), headers=AUTH)
    assert status == 202 and "Azure-AsyncOperation" in headers and "Location" in headers
    assert raw(arm, "DELETE", pip_path(arm), headers=AUTH)[0] == 204
    net.public_ip_addresses.begin_delete(RG, "pip1").result()  # the SDK is happy with 204 too


def test_if_match_mismatch_is_412_and_if_none_match_star_refuses_overwrite(arm: AzureEmulator, net: Any) -> None:
    pip = public_ip(net, "pip1")
    body = {"location": LOCATION, "sku": {"name": "Standard"}, "tags": {"a": "b"},
            "properties": {"publicIPAllocationMethod": "Static"}}
    updated = net.public_ip_addresses.begin_create_or_update(RG, "pip1", body, headers={"If-Match": pip.etag}).result()
    assert updated.tags == {"a": "b"}
    with pytest.raises(HttpResponseError) as e:  # the SDK's error map has no 412 entry for PUT
        net.public_ip_addresses.begin_create_or_update(RG, "pip1", body, headers={"If-Match": pip.etag}).result()
    assert (e.value.status_code, error_code(e.value)) == (412, "PreconditionFailed")
    status, _, err = raw(arm, "PUT", pip_path(arm), body, {**AUTH, "If-None-Match": "*"})
    assert (status, err["error"]["code"]) == (412, "PreconditionFailed")


def test_list_pages_with_next_link(arm: AzureEmulator, net: Any) -> None:
    arm.options.page_size = 2
    for i in range(5):
        public_ip(net, f"pip{i}")
    assert sorted(p.name for p in net.public_ip_addresses.list(RG)) == [f"pip{i}" for i in range(5)]
    assert len([c for c in arm.calls.all() if c.path.endswith("/publicIPAddresses")]) == 3
    assert len(list(net.public_ip_addresses.list_all())) == 5


def test_update_tags_replaces_only_tags(arm: AzureEmulator, net: Any) -> None:
    pip = public_ip(net, "pip1")
    got = net.public_ip_addresses.update_tags(RG, "pip1", {"tags": {"k8s-azure-service": "ns/a"}})
    assert got.tags == {"k8s-azure-service": "ns/a"} and got.ip_address == pip.ip_address


def test_bad_json_and_names_are_refused(arm: AzureEmulator) -> None:
    status, _, err = raw(arm, "PUT", pip_path(arm, name="bad%20name!"), {"location": LOCATION}, AUTH)
    assert (status, err["error"]["code"]) == (400, "InvalidResourceName")
    status, _, err = raw(arm, "PUT", pip_path(arm), {"properties": {}}, AUTH)
    assert (status, err["error"]["code"]) == (400, "LocationRequired")


def test_read_only_types_refuse_writes(arm: AzureEmulator, subnet_id: str) -> None:
    vnet_path = subnet_id.split("/subnets/", maxsplit=1)[0] + "?api-version=2026-03-01"
    status, _, err = raw(arm, "PUT", vnet_path, {"location": LOCATION}, AUTH)
    assert (status, err["error"]["code"]) == (405, "MethodNotAllowed")
    status, _, got = raw(arm, "GET", subnet_id + "?api-version=2026-03-01", headers=AUTH)
    assert status == 200 and got["properties"]["addressPrefix"] == "10.240.0.0/24"


def test_vm_reads_and_calls_are_logged(arm: AzureEmulator, subnet_id: str) -> None:
    vm = arm.add_virtual_machine(RG, "node-0", subnet_id)
    status, _, got = raw(arm, "GET", vm.id + "?api-version=2024-07-01", headers=AUTH)
    assert status == 200
    assert got["properties"]["networkProfile"]["networkInterfaces"][0]["id"] == vm.nic_id
    assert vm.provider_id == "azure://" + vm.id
    assert [(c.method, c.status) for c in arm.calls.all()] == [("GET", 200)]
    assert arm.calls.mutating() == []
    assert lb_id(arm) not in arm.state.inventory()
    assert vm.nic_id in arm.state.inventory()


def test_http_response_error_carries_arm_message(arm: AzureEmulator, net: Any) -> None:
    with pytest.raises(HttpResponseError) as e:
        public_ip(net, "pip1", sku="Standard", publicIPAllocationMethod="Dynamic")
    assert error_code(e.value) == "StandardSkuPublicIPAddressMustBeStatic"
    assert "must have AllocationMethod set to Static" in str(e.value)


def test_vm_instance_view_only_on_expand(arm: AzureEmulator, subnet_id: str) -> None:
    from emulators.azure.seeding import set_power_state

    vm = arm.add_virtual_machine(RG, "node-0", subnet_id)
    _, _, plain = raw(arm, "GET", vm.id + "?api-version=2024-07-01", headers=AUTH)
    assert "instanceView" not in plain["properties"]
    set_power_state(arm.state, vm.id, "deallocated")
    _, _, view = raw(arm, "GET", vm.id + "?api-version=2024-07-01&$expand=instanceView", headers=AUTH)
    codes = [s["code"] for s in view["properties"]["instanceView"]["statuses"]]
    assert "PowerState/deallocated" in codes and "PowerState/running" not in codes
