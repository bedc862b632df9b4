"""Unknown fields: dropped with a Warning header by default, rejected with fieldValidation=Strict."""

from __future__ import annotations

import json

import kubernetes.client as k8s

from tests.apiserver.conftest import request

SERVICES = "/api/v1/namespaces/default/services"
BODY = {"metadata": {"name": "web", "colour": "blue"},
        "spec": {"ports": [{"port": 80, "bogus": True}], "typo": "LoadBalancer"}}


def send(api_client: k8s.ApiClient, mode: str | None) -> tuple[int, dict, list[str]]:
    query = [("fieldValidation", mode)] if mode else []
    m, url, headers, body, _ = api_client.param_serialize("POST", SERVICES, query_params=query, body=BODY,
                                                          header_params={"Content-Type": "application/json"},
                                                          auth_settings=["BearerToken"])
    resp = api_client.call_api(m, url, header_params=headers, body=body)
    data = json.loads(resp.read())
    return resp.status, data, resp.response.headers.getlist("Warning")


def test_default_is_warn_unknown_fields_dropped(api_client: k8s.ApiClient) -> None:
    status, out, warnings = send(api_client, None)
    assert status == 201
    assert "colour" not in out["metadata"] and "typo" not in out["spec"] and "bogus" not in out["spec"]["ports"][0]
    assert sorted(warnings) == sorted(['299 - "unknown field \\"metadata.colour\\""',
                                       '299 - "unknown field \\"spec.ports[0].bogus\\""',
                                       '299 - "unknown field \\"spec.typo\\""'])
    assert request(api_client, "GET", SERVICES + "/web")[1]["spec"].get("typo") is None


def test_strict_rejects_and_ignore_is_silent(api_client: k8s.ApiClient) -> None:
    status, out, _ = send(api_client, "Strict")
    assert status == 400
    assert out["message"].startswith('strict decoding error: unknown field "metadata.colour"')
    status, out, warnings = send(api_client, "Ignore")
    assert status == 201 and warnings == [] and "typo" not in out["spec"]


def test_unknown_fields_in_a_patch(api_client: k8s.ApiClient) -> None:
    send(api_client, "Ignore")
    status, out = request(api_client, "PATCH", SERVICES + "/web", {"spec": {"sessionAffinityy": "ClientIP"}},
                          content_type="application/merge-patch+json", query=[("fieldValidation", "Strict")])
    assert status == 400 and 'unknown field "spec.sessionAffinityy"' in out["message"]


def test_wrong_json_types_are_400_before_anything_else(api_client: k8s.ApiClient) -> None:
    bad = {"metadata": {"name": "web"}, "spec": {"ports": [{"port": "80"}]}}
    status, out = request(api_client, "POST", SERVICES, bad)
    assert status == 400 and out["reason"] == "BadRequest"
    assert out["message"] == ('Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string '
                              "into Go struct field Service.spec.ports[0].port of type int32")
    status, out = request(api_client, "POST", SERVICES, {"metadata": {"name": 5}, "spec": {"ports": [{"port": 80}]}})
    assert status == 400 and "metadata.name of type string" in out["message"]
    # IntOrString takes either
    status, out = request(api_client, "POST", SERVICES, {"metadata": {"name": "ok"},
                                                         "spec": {"ports": [{"port": 80, "targetPort": "http"}]}})
    assert status == 201 and out["spec"]["ports"][0]["targetPort"] == "http"
