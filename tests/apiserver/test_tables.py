"""Server-side printing: Table responses for ``kubectl get`` (lists, single objects, watches)."""

from __future__ import annotations

import json

import kubernetes.client as k8s

from ccm.apiserver.tables import human_duration
from tests.apiserver.conftest import Api, raw, service_body

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def get(api_client: k8s.ApiClient, path: str, query: list[tuple[str, str]] | None = None) -> tuple[int, bytes]:
    m, url, headers, _, _ = api_client.param_serialize("GET", path, query_params=query or [],
                                                       header_params={"Accept": TABLE}, auth_settings=["BearerToken"])
    resp = api_client.call_api(m, url, header_params=headers)
    return resp.status, resp.read()


def test_service_table(api_client: k8s.ApiClient, core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("web", "NodePort",
                                                                ports=[{"port": 80, "nodePort": 30080}]))
    status, body = get(api_client, "/api/v1/namespaces/default/services")
    table = json.loads(body)
    assert status == 200 and table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Type", "Cluster-IP", "External-IP",
                                                               "Port(s)", "Age", "Selector"]
    cells = table["rows"][0]["cells"]
    assert cells[0] == "web" and cells[1] == "NodePort" and cells[3] == "<none>" and cells[4] == "80:30080/TCP"
    assert cells[6] == "app=web"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    status, body = get(api_client, "/api/v1/namespaces/default/services/web")
    assert json.loads(body)["rows"][0]["cells"][0] == "web"


def test_table_watch_sends_columns_once(api_client: k8s.ApiClient, core: Api) -> None:
    raw(core.create_namespaced_service, "default", service_body("a"))
    raw(core.create_namespaced_service, "default", service_body("b"))
    status, body = get(api_client, "/api/v1/namespaces/default/services",
                       [("watch", "true"), ("timeoutSeconds", "1")])
    assert status == 200
    events = [json.loads(line) for line in body.splitlines()]
    assert [e["object"]["rows"][0]["cells"][0] for e in events] == ["a", "b"]
    assert events[0]["object"]["columnDefinitions"] and events[1]["object"]["columnDefinitions"] == []


def test_human_duration() -> None:
    assert [human_duration(s) for s in (5, 119, 125, 600, 7200, 30000, 200000, 2000000)] == [
        "5s", "119s", "2m5s", "10m", "120m", "8h", "2d7h", "23d"]


def test_event_and_namespace_tables(api_client: k8s.ApiClient, core: Api) -> None:
    raw(core.create_namespaced_event, "default", {
        "metadata": {"name": "e1"}, "involvedObject": {"kind": "Service", "name": "web", "namespace": "default"},
        "reason": "EnsuredLoadBalancer", "message": "done", "type": "Normal", "count": 2})
    table = json.loads(get(api_client, "/api/v1/namespaces/default/events")[1])
    names = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Last Seen", "Type", "Reason", "Object", "Message"]
    row = dict(zip([c["name"] for c in table["columnDefinitions"]], table["rows"][0]["cells"], strict=True))
    assert row["Object"] == "service/web" and row["Count"] == 2 and row["Message"] == "done"
    # the same event through events.k8s.io/v1 prints the same
    v1 = json.loads(get(api_client, "/apis/events.k8s.io/v1/namespaces/default/events")[1])
    assert v1["rows"][0]["cells"][:4] == table["rows"][0]["cells"][:4]
    ns = json.loads(get(api_client, "/api/v1/namespaces/default")[1])
    assert ns["rows"][0]["cells"][:2] == ["default", "Active"]
