"""The chart's RBAC is enough, and only as much as needed: the controller runs as the chart's
ServiceAccount against the embedded API in RBAC mode, with exactly the roles ``helm template``
renders for a ``controllers`` list, and does each enabled controller's job (a Service gets its load
balancer, a tainted Node is initialised, an orphan is swept, the Lease is held).

The static checks of the same roles are in test_chart.py; this is the proof they work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import kubernetes.client as k8s
import pytest
from kubernetes import utils

from ccm.apiserver.auth.users import TokenAuthenticator, parse_token_file
from ccm.apiserver.testing import embedded_apiserver
from ccm.controllers import selection
from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.controllers.nodeutil import TAINT_UNINITIALIZED
from providers.fake import FakeCloud, FakeInstances
from providers.port import LoadBalancerRequest, ServicePort
from tests.deploy.conftest import Render, find
from tests.util import wait_for

NAMESPACE = "kube-system"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


def token_file(docs: list[dict[str, Any]]) -> str:
    """Token file lines for an admin and for the chart's ServiceAccount."""
    sa = find(docs, "ServiceAccount")["metadata"]["name"]
    return (f"admin-token,admin,1,system:masters\n"
            f"ccm-token,system:serviceaccount:{NAMESPACE}:{sa},2,system:serviceaccounts\n")


@pytest.fixture
def cluster_with_chart_rbac(render: Render) -> Iterator[Any]:
    """``start(controllers)`` -> (admin client, ccm client) on a fresh RBAC API with the chart's roles."""
    with contextlib.ExitStack() as stack:
        def start(controllers: list[str]) -> tuple[k8s.ApiClient, k8s.ApiClient]:
            docs = render({"controllers": controllers}, namespace=NAMESPACE)
            server = stack.enter_context(embedded_apiserver(
                tokens=TokenAuthenticator(parse_token_file(token_file(docs))), authorization_mode="RBAC",
                cluster_objects=True))
            admin, ccm = server.api_client("admin-token"), server.api_client("ccm-token")
            stack.callback(admin.close)
            stack.callback(ccm.close)
            for doc in docs:
                if doc["kind"] in RBAC_KINDS:
                    utils.create_from_dict(admin, doc)
            return admin, ccm

        yield start


def manager(ccm: k8s.ApiClient, cloud: FakeCloud, controllers: list[str]) -> ControllerManager:
    return ControllerManager(ccm, cloud, ControllerOptions(
        controllers=selection.normalize(controllers), gc_period=0.2, gc_delete=True,
        node_monitor_period=0.05, node_status_update_frequency=0.1,
        leader_elect=True, leader_elect_namespace=NAMESPACE, lease_duration=2, renew_deadline=1.5, retry_period=0.1))


def lb_service(core: k8s.CoreV1Api, name: str) -> None:
    core.create_namespaced_service("default", {  # type: ignore[arg-type]
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "selector": {"app": name},
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}})


def orphan(cloud: FakeCloud, name: str) -> None:
    cloud.lb.ensure(LoadBalancerRequest("kubernetes", "default", name, f"uid-{name}",
                                        ports=(ServicePort("http", "TCP", 80, 30080),)))


def ingress(core: k8s.CoreV1Api, name: str) -> str | None:
    lb = core.read_namespaced_service(name, "default").status.load_balancer
    return lb.ingress[0].ip if lb and lb.ingress else None


def test_every_controller_does_its_job_with_the_charts_roles(cluster_with_chart_rbac) -> None:
    admin, ccm = cluster_with_chart_rbac(["*"])
    core = k8s.CoreV1Api(admin)
    vms = FakeInstances(unknown="absent")
    vms.add("n1", addresses=(("InternalIP", "10.1.0.5"),), instance_type="m.large", zone="zone-a", region="r-1")
    cloud = FakeCloud(instances=vms)
    core.create_node({"metadata": {"name": "n1"},  # type: ignore[arg-type]
                      "spec": {"taints": [{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}]},
                      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.9"}]}})
    lb_service(core, "web")
    orphan(cloud, "gone")
    mgr = manager(ccm, cloud, ["*"])
    mgr.start()
    try:
        assert mgr.wait_ready(10), mgr.ready()
        wait_for(lambda: ingress(core, "web"), 10, message="web's load balancer")
        wait_for(lambda: TAINT_UNINITIALIZED not in [t.key for t in core.read_node("n1").spec.taints or ()], 10,
                 message="n1 initialised")
        assert core.read_node("n1").spec.provider_id == "fake://n1"
        wait_for(lambda: {s.key for s in cloud.lb.specs()} == {"default/web"}, 10, message="the orphan swept")
        lease = k8s.CoordinationV1Api(admin).read_namespaced_lease("cloud-controller-manager", NAMESPACE)
        assert lease.spec.holder_identity == mgr.identity
        events = core.list_namespaced_event("default").items
        assert any(e.reason == "EnsuredLoadBalancer" for e in events)
    finally:
        mgr.stop()


def test_the_orphan_sweep_alone_runs_with_its_own_role_and_nothing_more(cluster_with_chart_rbac) -> None:
    _, ccm = cluster_with_chart_rbac(["orphan-gc"])
    cloud = FakeCloud()
    orphan(cloud, "gone")
    mgr = manager(ccm, cloud, ["orphan-gc"])
    mgr.start()
    try:
        assert mgr.wait_ready(10), mgr.ready()
        wait_for(lambda: not list(cloud.lb.specs()), 10, message="the orphan swept")
    finally:
        mgr.stop()
    # least privilege: this ServiceAccount may not write Services or Nodes
    with pytest.raises(k8s.ApiException) as denied:
        k8s.CoreV1Api(ccm).patch_namespaced_service_status("kubernetes", "default", {"status": {}})
    assert denied.value.status == 403
