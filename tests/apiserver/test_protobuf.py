"""Kubernetes protobuf: the envelope, a round trip per kind, and content negotiation over HTTP.

The round trip builds, for every served kind, an object that sets every field of its
message (walking the descriptor, with values of the right JSON shape), and checks that
JSON -> protobuf -> JSON gives it back. kubectl itself checks the wire compatibility in
test_kubectl_session.py (it creates objects in protobuf and prints what it decoded).
"""

from __future__ import annotations

import json
from typing import Any

import kubernetes.client as k8s
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from ccm.apiserver.protobuf import codec
from ccm.apiserver.protobuf.schema import KINDS, NON_LIST_KINDS
from tests.apiserver.conftest import request, service_body

PB = codec.MEDIA_TYPE


def example(desc: Descriptor, depth: int = 0) -> Any:
    """A JSON value setting every field of ``desc`` (nested messages to a bounded depth)."""
    name = desc.full_name
    if name.endswith((".Time", ".MicroTime")):
        return "2026-01-02T03:04:05.123456Z" if name.endswith("MicroTime") else "2026-01-02T03:04:05Z"
    if name.endswith(".IntOrString"):
        return "http" if depth % 2 else 8080
    if name.endswith(".Quantity"):
        return "4Gi"
    if name.endswith((".RawExtension", ".FieldsV1")):
        return {"f:metadata": {"f:labels": {}}}
    out: dict[str, Any] = {}
    for field in desc.fields:
        if field.message_type is not None and depth > 4:
            continue
        out[field.name] = field_example(field, depth)
    return out


def field_example(field: FieldDescriptor, depth: int) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return {"k1": scalar_or_message(value, depth + 1), "k2": scalar_or_message(value, depth + 1)}
    one = scalar_or_message(field, depth + 1)
    return [one, scalar_or_message(field, depth + 2)] if field.is_repeated else one


def scalar_or_message(field: FieldDescriptor, depth: int) -> Any:
    if field.message_type is not None:
        return example(field.message_type, depth)
    return {FieldDescriptor.TYPE_STRING: f"v-{field.name}", FieldDescriptor.TYPE_INT32: 42 + field.number,
            FieldDescriptor.TYPE_INT64: 1 << 40, FieldDescriptor.TYPE_BOOL: True,
            FieldDescriptor.TYPE_BYTES: "aGVsbG8="}[field.type]


@pytest.mark.parametrize(("api_version", "kind"), sorted(KINDS))
def test_round_trip_every_field(api_version: str, kind: str) -> None:
    desc = codec.descriptor(api_version, kind)
    assert desc is not None
    obj = {"kind": kind, "apiVersion": api_version, **example(desc)}
    wire = codec.encode(obj)
    assert wire.startswith(b"k8s\x00\n")
    assert codec.decode(wire) == obj
    if kind not in NON_LIST_KINDS:
        items = [{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}]
        listed = {"kind": kind + "List", "apiVersion": api_version,
                  "metadata": {"resourceVersion": "7", "continue": "x"}, "items": items}
        assert codec.decode(codec.encode(listed)) == listed


def test_zero_values_follow_go_json() -> None:
    """Zero non-pointer fields are dropped on decode (Go's omitempty); pointer ones are kept."""
    obj = {"kind": "Service", "apiVersion": "v1",
           "metadata": {"name": "a", "generateName": "", "generation": 0, "creationTimestamp": None},
           "spec": {"clusterIP": "", "healthCheckNodePort": 0, "allocateLoadBalancerNodePorts": False,
                    "publishNotReadyAddresses": False, "ports": [{"port": 80, "targetPort": 0}]}}
    assert codec.decode(codec.encode(obj)) == {
        "kind": "Service", "apiVersion": "v1", "metadata": {"name": "a"},
        "spec": {"allocateLoadBalancerNodePorts": False, "ports": [{"port": 80, "targetPort": 0}]}}


def test_bad_bodies_are_codec_errors() -> None:
    for data in (b"", b"{}", b"k8s\x00\xff\xff", b"k8s\x00\n\x0e\n\x02v1\x12\x08Pod"):
        with pytest.raises(codec.CodecError):
            codec.decode(data)
    with pytest.raises(codec.CodecError):
        codec.encode({"kind": "Pod", "apiVersion": "v1"})


def test_accept_negotiation() -> None:
    assert codec.accepts_protobuf("application/vnd.kubernetes.protobuf,application/json")
    assert codec.accepts_protobuf("application/vnd.kubernetes.protobuf")
    assert not codec.accepts_protobuf("application/json, */*")
    assert not codec.accepts_protobuf("application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    assert not codec.accepts_protobuf("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io")
    assert not codec.accepts_protobuf("")


def raw_call(api_client: k8s.ApiClient, method: str, path: str, body: bytes | None, accept: str, *,
             content_type: str = PB) -> tuple[int, str, bytes]:
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    resp = api_client.rest_client.pool_manager.request(method, api_client.configuration.host + path, body=body,
                                                       headers=headers)
    return resp.status, resp.headers.get("Content-Type", ""), resp.data


def test_protobuf_over_http(api_client: k8s.ApiClient) -> None:
    """Create with a protobuf body, read back as protobuf and JSON: the same object."""
    body = codec.encode({"kind": "Service", "apiVersion": "v1", **service_body("pb", "LoadBalancer")})
    status, ctype, data = raw_call(api_client, "POST", "/api/v1/namespaces/default/services", body,
                                   f"{PB},application/json")
    assert status == 201 and ctype == PB
    created = codec.decode(data)
    assert created["spec"]["type"] == "LoadBalancer" and created["spec"]["ports"][0]["nodePort"] >= 30000
    status, ctype, data = raw_call(api_client, "GET", "/api/v1/namespaces/default/services/pb", None, PB)
    assert status == 200 and ctype == PB
    as_json = request(api_client, "GET", "/api/v1/namespaces/default/services/pb")[1]
    assert codec.decode(data) == as_json
    status, ctype, data = raw_call(api_client, "GET", "/api/v1/namespaces/default/services", None,
                                   f"{PB},application/json")
    assert status == 200 and ctype == PB
    assert [i["metadata"]["name"] for i in codec.decode(data)["items"]] == ["pb"]
    # errors stay JSON Status objects (client-go decodes by the response's Content-Type)
    status, ctype, data = raw_call(api_client, "GET", "/api/v1/namespaces/default/services/nope", None,
                                   f"{PB},application/json")
    assert status == 404 and ctype.startswith("application/json") and json.loads(data)["reason"] == "NotFound"
    status, _, data = raw_call(api_client, "POST", "/api/v1/namespaces/default/services", b"k8s\x00garbage", PB)
    assert status == 400 and json.loads(data)["reason"] == "BadRequest"
