"""The route table is the discovery document's: same method ids, HTTP methods and paths."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from emulators.gce.discovery import Validator, methods
from emulators.gce.emulator import GceEmulator
from emulators.gce.routes import ROUTES


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.method_id)
def test_route_matches_discovery(route):
    spec = methods()[route.method_id]
    assert (route.http_method, route.template) == (spec["httpMethod"], spec["path"])


def test_validator_rejects_unknown_fields_bad_enums_and_types():
    v = Validator()
    assert v.check_request("compute.forwardingRules.insert", {"name": "a", "IPProtocol": "TCP", "ports": ["80"]}) == []
    problems = v.check_request("compute.forwardingRules.insert",
                               {"name": "a", "IPProtocol": "SCTPX", "loadBalancerScheme": "EXTERNAL", "ports": [80]})
    assert any("SCTPX" in p for p in problems)
    assert any("unknown property 'loadBalancerScheme'" in p for p in problems)
    assert any("ports[0]: expected a string" in p for p in problems)
    assert v.check_response("compute.regionOperations.get", {"id": 12}) == ["response.id: expected a string, got 12"]


def _raw(emu: GceEmulator, method: str, path: str, body: object = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(emu.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_request_off_the_schema_is_rejected_like_the_api_does(emu):
    status, body = _raw(emu, "POST", "/compute/v1/projects/proj-1/global/firewalls",
                        {"name": "x", "allowed": [{"IPProtocol": "tcp"}], "bogus": 1})
    assert status == 400
    assert body["error"]["errors"][0]["reason"] == "invalid"
    assert "unknown property 'bogus'" in body["error"]["message"]
    assert emu.resources() == []


def test_unknown_paths_and_methods(emu):
    assert _raw(emu, "GET", "/compute/v1/projects/proj-1/global/nothing")[0] == 404
    status, body = _raw(emu, "PUT", "/compute/v1/projects/proj-1/regions/us-central1/addresses/a", {})
    assert status == 405 and body["error"]["code"] == 405
    assert _raw(emu, "GET", "/compute/v1/projects/nope/global/firewalls")[0] == 404


def test_admin_endpoint_seeds_lists_and_resets(emu):
    assert _raw(emu, "POST", "/_emulator/instances",
                {"project": "proj-1", "zone": "us-central1-a", "name": "n9"})[0] == 200
    names = {r["name"] for r in _raw(emu, "GET", "/_emulator/resources")[1]["items"]}
    assert {"n1", "n2", "n9", "default"} <= names
    assert _raw(emu, "POST", "/_emulator/faults", {"methods": "compute.firewalls.list", "status": 503})[0] == 200
    assert _raw(emu, "GET", "/compute/v1/projects/proj-1/global/firewalls")[0] == 503
    assert _raw(emu, "DELETE", "/_emulator/faults")[0] == 200
    assert _raw(emu, "GET", "/compute/v1/projects/proj-1/global/firewalls")[0] == 200
    assert _raw(emu, "DELETE", "/_emulator/instances",
                {"project": "proj-1", "zone": "us-central1-a", "name": "n9"})[0] == 200
