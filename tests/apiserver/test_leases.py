"""coordination.k8s.io/v1 Leases, as leader election uses them (get, create, replace with a version)."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest

from tests.apiserver.conftest import Api, api_error, raw, request

SPEC = {"holderIdentity": "a", "leaseDurationSeconds": 15, "acquireTime": "2026-01-01T00:00:00.000000Z",
        "renewTime": "2026-01-01T00:00:01.000000Z", "leaseTransitions": 0}


def test_lease_create_renew_and_conflict(api_client: k8s.ApiClient) -> None:
    api: Api = k8s.CoordinationV1Api(api_client)
    lease = raw(api.create_namespaced_lease, "kube-system", {"metadata": {"name": "ccm"}, "spec": SPEC})
    assert lease["spec"] == SPEC and lease["apiVersion"] == "coordination.k8s.io/v1"
    status, out = request(api_client, "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                          {"metadata": {"name": "t"}, "spec": {"renewTime": "yesterday"}})
    assert status == 400 and out["reason"] == "BadRequest"
    # times come back in kube-apiserver's canonical MicroTime form whatever offset the client used
    renewed = dict(lease, spec=dict(SPEC, renewTime="2026-01-01T01:00:03.5+01:00"))
    out = raw(api.replace_namespaced_lease, "ccm", "kube-system", renewed)
    assert out["spec"]["renewTime"] == "2026-01-01T00:00:03.500000Z"
    # a second candidate holding the old version loses
    with pytest.raises(k8s.ApiException) as e:
        api.replace_namespaced_lease("ccm", "kube-system", dict(lease, spec=dict(SPEC, holderIdentity="b")))
    assert e.value.status == 409
    assert api_error(e.value)["message"].startswith('Operation cannot be fulfilled on leases.coordination.k8s.io "ccm"')
    model = api.read_namespaced_lease("ccm", "kube-system")
    assert model.spec.holder_identity == "a" and model.spec.lease_duration_seconds == 15


def test_lease_validation(api_client: k8s.ApiClient) -> None:
    api: Api = k8s.CoordinationV1Api(api_client)
    with pytest.raises(k8s.ApiException) as e:
        api.create_namespaced_lease("default", {"metadata": {"name": "x"}, "spec": {"leaseDurationSeconds": 0}})
    assert e.value.status == 422
    assert api_error(e.value)["details"]["causes"][0]["field"] == "spec.leaseDurationSeconds"


def test_lease_update_needs_a_resource_version(api_client: k8s.ApiClient) -> None:
    """leaseStrategy.AllowUnconditionalUpdate is false: a blind overwrite of the lock is refused."""
    api: Api = k8s.CoordinationV1Api(api_client)
    raw(api.create_namespaced_lease, "kube-system", {"metadata": {"name": "ccm"}, "spec": SPEC})
    with pytest.raises(k8s.ApiException) as e:
        api.replace_namespaced_lease("ccm", "kube-system", {"metadata": {"name": "ccm"},
                                                            "spec": dict(SPEC, holderIdentity="b")})
    assert e.value.status == 422
    assert api_error(e.value)["message"] == ('leases.coordination.k8s.io "ccm" is invalid: metadata.resourceVersion: '
                                             'Invalid value: 0: must be specified for an update')
    assert api.read_namespaced_lease("ccm", "kube-system").spec.holder_identity == "a"
    # create-on-update still needs no version
    out = raw(api.replace_namespaced_lease, "other", "kube-system", {"metadata": {"name": "other"}, "spec": SPEC})
    assert out["metadata"]["name"] == "other"
