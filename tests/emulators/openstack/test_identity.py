"""Keystone: token issue by password and application credential, the catalog, expiry, error bodies."""

from __future__ import annotations

import openstack
import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions


def _token(emu, identity, scope=None):
    auth = {"identity": identity}
    if scope is not None:
        auth["scope"] = scope
    return requests.post(f"{emu.auth_url}/auth/tokens", json={"auth": auth}, timeout=5)


def _password(emu, password):
    return {"methods": ["password"], "password": {"user": {"name": emu.seed.user.name, "domain": {"name": "Default"},
                                                           "password": password}}}


def _project(emu):
    return {"project": {"name": emu.seed.project.name, "domain": {"id": "default"}}}


def test_password_token_carries_a_catalog_pointing_at_the_emulator(emu):
    resp = _token(emu, _password(emu, emu.seed.password), _project(emu))
    assert resp.status_code == 201
    assert resp.headers["X-Subject-Token"]
    token = resp.json()["token"]
    assert token["project"]["id"] == emu.seed.project.id
    types = {svc["type"]: svc for svc in token["catalog"]}
    assert set(types) == {"identity", "load-balancer", "network", "compute"}
    for svc in types.values():
        assert {e["interface"] for e in svc["endpoints"]} == {"public", "internal", "admin"}
        assert all(e["url"].startswith(emu.url) and e["region"] == "RegionOne" for e in svc["endpoints"])


def test_wrong_password_and_scoped_application_credential_are_refused_in_keystone_format(emu):
    resp = _token(emu, _password(emu, "nope"), _project(emu))
    assert resp.status_code == 401
    assert resp.json() == {"error": {"code": 401, "title": "Unauthorized",
                                     "message": "The request you have made requires authentication."}}
    cred = emu.seed.app_credential
    resp = _token(emu, {"methods": ["application_credential"],
                        "application_credential": {"id": cred.id, "secret": cred.secret}}, _project(emu))
    assert resp.status_code == 401
    assert "cannot request a scope" in resp.json()["error"]["message"]


def test_sdk_with_application_credential_reaches_every_service(emu):
    conn = openstack.connection.Connection(auth_url=emu.auth_url, **emu.credentials(application_credential=True))
    try:
        assert [n.name for n in conn.network.networks(name="k8s-net")] == ["k8s-net"]
        assert list(conn.load_balancer.load_balancers()) == []
        assert {s.name for s in conn.compute.servers()} == {"node-1", "node-2"}
    finally:
        conn.close()
    assert emu.call_counts()["keystone.tokens.create"] == 1


def test_expired_token_makes_the_sdk_authenticate_again(emu, conn):
    list(conn.network.networks())
    before = emu.call_counts()["keystone.tokens.create"]
    emu.cloud.identity.expire_tokens()
    assert [n.name for n in conn.network.networks(name="k8s-net")] == ["k8s-net"]
    assert emu.call_counts()["keystone.tokens.create"] == before + 1


def test_calls_without_a_token_get_401_in_the_service_format(emu):
    resp = requests.get(f"{emu.url}/networking/v2.0/networks", timeout=5)
    assert resp.status_code == 401
    assert resp.json()["NeutronError"]["type"] == "HTTPUnauthorized"
    resp = requests.get(f"{emu.url}/load-balancer/v2/lbaas/loadbalancers", headers={"X-Auth-Token": "bogus"},
                        timeout=5)
    assert resp.status_code == 401 and resp.json()["faultcode"] == "Client"


def test_unknown_user_fails_sdk_authentication(emu):
    creds = {**emu.credentials(), "username": "nobody"}
    conn = openstack.connection.Connection(auth_url=emu.auth_url, **creds)
    with pytest.raises(ks_exceptions.Unauthorized):
        list(conn.network.networks())
