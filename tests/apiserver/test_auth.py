"""Optional static bearer token: requests without it get a 401 Status."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from ccm.apiserver.testing import embedded_apiserver
from tests.apiserver.conftest import Api


def test_bearer_token_required_when_configured() -> None:
    with embedded_apiserver(token="s3cret") as server:
        good = server.api_client()
        cfg = k8s.Configuration()
        cfg.host = server.url
        bad = k8s.ApiClient(cfg)
        wrong_cfg = k8s.Configuration()
        wrong_cfg.host = server.url
        wrong_cfg.api_key = {"authorization": "Bearer nope"}
        wrong = k8s.ApiClient(wrong_cfg)
        try:
            assert k8s.CoreV1Api(good).list_namespace().items
            for client in (bad, wrong):
                with pytest.raises(k8s.ApiException) as e:
                    k8s.CoreV1Api(client).list_namespace()
                assert e.value.status == 401
                assert '"reason":"Unauthorized"' in (e.value.body or "")
        finally:
            for c in (good, bad, wrong):
                c.close()


def test_no_token_configured_accepts_anonymous(core: Api) -> None:
    assert core.list_namespace().items
