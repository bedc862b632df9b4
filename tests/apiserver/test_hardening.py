"""Hostile and oversized requests get kube-apiserver's 4xx answers, never a 500 or a stuck server.

Issue 8 item 6: alias bombs, body and object size limits, deep nesting, duplicate keys,
resourceVersions from the future, half-sent requests, the token comparison and an
unauthenticated non-loopback bind.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes.client as k8s
import pytest

from ccm.apiserver import cli as apiserver_cli
from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import request
from tests.util import wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVICES = "/api/v1/namespaces/default/services"
ENDPOINTS = "/api/v1/namespaces/default/endpoints"


def send(url: str, method: str, path: str, body: bytes, content_type: str = "application/json", *,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], http.client.HTTPMessage]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": content_type, **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else {}, resp.msg
    finally:
        conn.close()


def billion_laughs(levels: int = 9) -> bytes:
    """~600 bytes of YAML that expand to 10**levels strings (58 MB of JSON at 8 levels)."""
    lines = ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\n', 'a0: &a0 ["lol","lol","lol","lol","lol",'
             '"lol","lol","lol","lol","lol"]\n']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]\n")
    lines.append(f"data: {{x: *a{levels - 1}}}\n")
    return "".join(lines).encode()


def test_yaml_alias_bomb_is_refused_before_expanding(apiserver) -> None:
    bomb = billion_laughs()
    assert len(bomb) < 700
    started = time.monotonic()
    status, body, _ = send(apiserver.url, "POST", SERVICES, bomb, "application/yaml")
    assert status == 400, body
    assert body["reason"] == "BadRequest" and "excessive aliasing" in body["message"]
    assert time.monotonic() - started < 5
    # a document using anchors modestly is fine, and each alias is its own copy
    ok = (b"apiVersion: v1\nkind: Service\nmetadata: {name: anchors, labels: &l {app: web}}\n"
          b"spec: {selector: *l, ports: [{port: 80}]}\n")
    status, body, _ = send(apiserver.url, "POST", SERVICES, ok, "application/yaml")
    assert status == 201, body
    assert body["metadata"]["labels"] == body["spec"]["selector"] == {"app": "web"}


def test_request_body_over_3mib_is_413(apiserver) -> None:
    body = json.dumps({"metadata": {"name": "big", "annotations": {"a": "x" * (3 * 1024 * 1024)}}}).encode()
    status, out, headers = send(apiserver.url, "POST", SERVICES, body)
    assert status == 413
    assert out["reason"] == "RequestEntityTooLarge" and out["message"] == \
        "Request entity too large: limit is 3145728"
    assert headers.get("Connection", "").lower() == "close"
    # the server is fine afterwards
    assert send(apiserver.url, "GET", SERVICES, b"")[0] == 200


def test_declared_50mb_body_is_refused_without_reading_it(apiserver) -> None:
    """The 413 comes back after a few KB of a declared 50 MB body: it was never buffered."""
    host, port = apiserver.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {SERVICES} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode() + b"{" * 4096)
        head = sock.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head[:200]
    assert '"reason":"RequestEntityTooLarge"' in head


def test_chunked_body_over_the_limit_is_413() -> None:
    with embedded_apiserver(max_request_bytes=64 * 1024) as server:
        host, port = server.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            chunks = iter([b"[" + b"0," * 20_000, b"0," * 40_000, b"0]"])
            conn.request("POST", SERVICES, body=chunks, headers={"Content-Type": "application/json"},
                         encode_chunked=True)
            resp = conn.getresponse()
            assert resp.status == 413
            assert json.loads(resp.read())["message"] == "Request entity too large: limit is 65536"
        finally:
            conn.close()


def test_stored_object_is_bounded(apiserver) -> None:
    """Under the request limit but over etcd's object limit: 413, nothing stored, nothing leaked."""
    subsets = [{"addresses": [{"ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "hostname": "h" * 40}
                              for i in range(30_000)]}]
    body = json.dumps({"metadata": {"name": "huge"}, "subsets": subsets}).encode()
    assert 1.5 * 1024 * 1024 < len(body) < 3 * 1024 * 1024
    status, out, _ = send(apiserver.url, "POST", ENDPOINTS, body)
    assert status == 413, out
    assert out["reason"] == "RequestEntityTooLarge"
    assert send(apiserver.url, "GET", ENDPOINTS + "/huge", b"")[0] == 404


def test_deep_json_is_400_not_500(apiserver) -> None:
    for depth in (100_000, 5_000, 300):
        body = b'{"metadata":{"name":"deep"},"spec":{"selector":' + b"[" * depth + b"]" * depth + b"}}"
        status, out, _ = send(apiserver.url, "POST", SERVICES, body)
        assert status == 400, (depth, out)
        assert "exceeded max depth" in out["message"]
    deep_yaml = b"metadata: {name: deep}\nspec: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    status, out, _ = send(apiserver.url, "POST", SERVICES, deep_yaml, "application/yaml")
    assert status == 400, out


def test_duplicate_json_keys_strict_is_400_warn_is_a_warning(apiserver) -> None:
    body = b'{"metadata":{"name":"a","name":"dup"},"spec":{"ports":[{"port":80,"port":81}]}}'
    status, out, _ = send(apiserver.url, "POST", SERVICES + "?fieldValidation=Strict", body)
    assert status == 400
    assert out["message"] == ('strict decoding error: duplicate field "metadata.name", '
                              'duplicate field "spec.ports[0].port"')
    status, out, headers = send(apiserver.url, "POST", SERVICES, body)
    assert status == 201 and out["metadata"]["name"] == "dup" and out["spec"]["ports"][0]["port"] == 81
    assert sorted(headers.get_all("Warning")) == ['299 - "duplicate field \\"metadata.name\\""',
                                                  '299 - "duplicate field \\"spec.ports[0].port\\""']
    status, out, headers = send(apiserver.url, "POST", SERVICES + "?fieldValidation=Ignore",
                                body.replace(b'"dup"', b'"dup2"'))
    assert status == 201 and not headers.get_all("Warning")


def test_watch_and_list_from_a_future_resource_version(api_client: k8s.ApiClient, apiserver) -> None:
    current = int(request(api_client, "GET", SERVICES)[1]["metadata"]["resourceVersion"])
    future = current + 1000
    status, out = request(api_client, "GET", SERVICES, query=[("resourceVersion", str(future))])
    assert status == 504
    expected = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"Timeout: Too large resource version: {future}, current: {current}",
                "reason": "Timeout",
                "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                        "message": "Too large resource version"}], "retryAfterSeconds": 1},
                "code": 504}
    assert out == expected
    status, text = request(api_client, "GET", SERVICES, query=[("watch", "true"), ("resourceVersion", str(future)),
                                                                ("timeoutSeconds", "5")])
    assert status == 200  # as the watch cache: the stream opens, then one ERROR event ends it
    events = [json.loads(line) for line in (text if isinstance(text, str) else json.dumps(text)).splitlines()]
    assert events == [{"type": "ERROR", "object": expected}]


def test_half_sent_requests_are_closed_and_do_not_block_others() -> None:
    with embedded_apiserver(header_timeout=0.5) as server:
        host, port = server.url.removeprefix("http://").split(":")
        socks = []
        try:
            for _ in range(300):
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                socks.append(s)
            assert send(server.url, "GET", "/api/v1/namespaces", b"")[0] == 200

            def all_closed() -> bool:
                for s in socks:
                    s.settimeout(5)
                    if s.recv(1024) != b"":
                        return False
                return True

            assert wait_for(all_closed, timeout=15, message="the server to close half-sent requests")
        finally:
            for s in socks:
                s.close()


def test_token_is_compared_in_constant_time() -> None:
    with embedded_apiserver(token="s3cret") as server, \
            mock.patch("ccm.apiserver.server.hmac.compare_digest", wraps=__import__("hmac").compare_digest) as spy:
        for auth, want in (("Bearer s3cret", 200), ("Bearer s3creT", 401), ("Bearer \u00e9\u00e9", 401), ("", 401)):
            status, _, _ = send(server.url, "GET", "/api/v1/namespaces", b"",
                                headers={"Authorization": auth} if auth else None)
            assert status == want, auth
        assert spy.call_count == 4


def test_non_loopback_bind_without_token_is_refused() -> None:
    assert apiserver_cli.is_loopback("127.0.0.1") and apiserver_cli.is_loopback("::1")
    assert apiserver_cli.is_loopback("localhost") and apiserver_cli.is_loopback("127.8.9.10")
    assert not apiserver_cli.is_loopback("0.0.0.0") and not apiserver_cli.is_loopback("::")
    assert not apiserver_cli.is_loopback("example.com")
    result = subprocess.run([sys.executable, "-m", "ccm", "apiserver", "--host", "0.0.0.0", "--port", "0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ccm apiserver: refusing to serve on 0.0.0.0 without authentication: pass --token (or listen on 127.0.0.1)"]


@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_bodies_that_are_not_objects_are_400(apiserver, content_type: str) -> None:
    for body in (b"", b"\xff\xfe", b"[1,2]", b"!!set {a, b}", b"{\"metadata\": {\"name\": \"x\", 1: 2}}"):
        status, out, _ = send(apiserver.url, "POST", SERVICES, body, content_type)
        assert status == 400, (body, out)
