"""JSON in, JSON out over the official client's REST layer.

The generated model classes are bypassed on purpose: building them costs far more than
parsing the JSON, and informers cache thousands of objects. Authentication (bearer token,
client certificates) and TLS still come from the ``ApiClient``'s configuration, because
every request goes through ``ApiClient.param_serialize`` and ``ApiClient.call_api``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import kubernetes.client
import kubernetes.config
import urllib3

log = logging.getLogger(__name__)

PatchType = Literal["merge", "json", "strategic"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}

_READ_SIZE = 64 * 1024


class ApiError(Exception):
    """A request the API server refused (``status`` >= 300) or could not be reached (``status`` 0)."""

    def __init__(self, status: int, reason: str, message: str = "", body: dict[str, Any] | None = None):
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def is_conflict(self) -> bool:
        return self.status == 409

    @property
    def is_already_exists(self) -> bool:
        return self.status == 409 and self.reason == "AlreadyExists"

    @property
    def is_gone(self) -> bool:
        """The requested resourceVersion is too old (HTTP 410 Gone / reason Expired)."""
        return self.status == 410

    @property
    def is_too_large_resource_version(self) -> bool:
        """The requested resourceVersion is newer than the server's (it restarted having lost
        history): 504 Timeout with cause ``ResourceVersionTooLarge``, as client-go checks it."""
        if self.status != 504 or not isinstance(self.body, dict):
            return False
        causes = (self.body.get("details") or {}).get("causes") or []
        return any(isinstance(c, dict) and c.get("reason") == "ResourceVersionTooLarge" for c in causes)

    @classmethod
    def from_response(cls, status: int, http_reason: str, data: bytes) -> ApiError:
        body: dict[str, Any] | None = None
        try:
            parsed = json.loads(data) if data else None
            body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            pass
        if body is not None and body.get("kind") == "Status":
            return cls(status, body.get("reason") or http_reason or "", body.get("message", ""), body)
        text = data.decode("utf-8", "replace")[:500] if data else ""
        return cls(status, http_reason or "", text, body)


def load_api_client(kubeconfig: str | None, context: str | None = None) -> kubernetes.client.ApiClient:
    """An ApiClient from a kubeconfig file, ``$KUBECONFIG``, or the in-cluster service account."""
    configuration = kubernetes.client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        kubernetes.config.load_kube_config(config_file=path, context=context,
                                           client_configuration=configuration)
    else:
        kubernetes.config.load_incluster_config(client_configuration=configuration)
    return kubernetes.client.ApiClient(configuration)


class WatchStream:
    """The events of one watch request, parsed one JSON line at a time.

    ``close`` may be called from another thread while a reader is blocked: it only shuts the
    socket's read side down (the blocked read returns) and the reading thread releases the
    connection itself, because closing a response under a concurrent read is not safe.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response
        self._closed = False
        self._reading = False
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            if self._closed or self._reading:
                return
            self._reading = True
        response = self._response
        buffer = b""
        try:
            while not self._closed:
                chunk = response.read1(_READ_SIZE)
                if not chunk:
                    break
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                lines = buffer.split(b"\n")
                buffer = lines.pop()
                lines = [line for line in lines if line.strip()]
                if len(lines) == 1:
                    yield json.loads(lines[0])
                elif lines:
                    # A burst (a replay, a relist's worth of changes): one parse for all of it is
                    # faster and shares the key strings of every object, which cached objects keep.
                    yield from json.loads(b"[" + b",".join(lines) + b"]")
            if buffer.strip() and not self._closed:
                yield json.loads(buffer)
        except Exception as exc:
            if self._closed:
                return  # closed under us on purpose
            if isinstance(exc, (urllib3.exceptions.HTTPError, OSError, ValueError)):
                raise ApiError(0, "WatchDropped", str(exc)) from exc
            raise
        finally:
            with self._lock:
                self._closed = True
                self._reading = False
            _close_quietly(response)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            reading = self._reading
        if reading:
            try:
                self._response.shutdown()
            except Exception:  # already released or never connected: nothing is blocked
                pass
        else:
            _close_quietly(self._response)


def _close_quietly(response: urllib3.BaseHTTPResponse) -> None:
    try:
        response.close()
    except Exception:
        log.debug("closing a watch response failed", exc_info=True)


class RawClient:
    """get/list/watch/create/update/patch/delete on API paths, with plain dicts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, *, timeout: float = 30.0) -> None:
        self.api_client = api_client
        self.timeout = timeout

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
              body: Any = None, content_type: str | None = None,
              timeout: float | tuple[float, float] | None = None) -> urllib3.BaseHTTPResponse:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        query = [(k, v) for k, v in (params or {}).items() if v is not None]
        _, url, headers, body, _ = self.api_client.param_serialize(
            method=method, resource_path=path, query_params=query, header_params=headers,
            body=body, auth_settings=["BearerToken"])
        try:
            rest = self.api_client.call_api(method, url, header_params=headers, body=body,
                                            _request_timeout=timeout or self.timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(0, type(exc).__name__, str(exc)) from exc
        except kubernetes.client.ApiException as exc:
            raise ApiError(exc.status or 0, str(exc.reason), str(exc.body or "")) from exc
        return rest.response  # type: ignore[no-any-return]

    def _request(self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
                 body: Any = None, content_type: str | None = None) -> dict[str, Any]:
        response = self._send(method, path, params, body=body, content_type=content_type)
        try:
            data = response.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ApiError(0, type(exc).__name__, str(exc)) from exc
        finally:
            response.release_conn()
        if response.status >= 300:
            raise ApiError.from_response(response.status, response.reason or "", data)
        result = json.loads(data) if data else {}
        return result if isinstance(result, dict) else {"items": result}

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params)

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params)

    def watch(self, path: str, params: Mapping[str, Any] | None, timeout_seconds: int) -> WatchStream:
        """Open a watch; the server ends it after ``timeout_seconds``; a stalled connection fails later."""
        query = dict(params or {})
        query["watch"] = "true"
        query["timeoutSeconds"] = int(timeout_seconds)
        response = self._send("GET", path, query, timeout=(10.0, timeout_seconds + 30.0))
        if response.status != 200:
            try:
                data = response.data
            finally:
                response.release_conn()
            raise ApiError.from_response(response.status, response.reason or "", data)
        return WatchStream(response)

    def create(self, path: str, body: Mapping[str, Any],
               params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._request("POST", path, params, body=body)

    def update(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("PUT", path, body=body)

    def patch(self, path: str, body: Any, patch_type: PatchType) -> dict[str, Any]:
        return self._request("PATCH", path, body=body, content_type=PATCH_CONTENT_TYPES[patch_type])

    def delete(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._request("DELETE", path, params)
