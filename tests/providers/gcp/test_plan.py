"""Pure planning: the offline plan (no call at all) and the rules a plan follows, from hand-built observations."""

from __future__ import annotations

import pytest

from providers.gcp.config import GceConfig
from providers.gcp.desired import desired
from providers.gcp.kinds import KINDS
from providers.gcp.observe import Observed
from providers.gcp.plan import plan_delete, plan_firewalls, plan_load_balancer
from providers.gcp.settings import settings_from_request
from providers.port import UserError
from tests.providers.gcp.requests import request

CONFIG = GceConfig(project="p", region="r")
LB = "a0b9e5c1a11112222333344445555666"
OURS = '{"kubernetes.io/cluster-id": "kubernetes", "kubernetes.io/service-name": "default/web"}'


def _desired(req):
    settings = settings_from_request(req)
    return desired(req, settings, CONFIG, kind=KINDS[settings.scheme], lb=LB, zones=("r-a",), tags=("t",),
                   group_path=lambda z: f"projects/p/zones/{z}/instanceGroups/k8s-ig--kubernetes")


def _steps(ops):
    return [f"{op.verb} {op.collection} {op.name}" for op in ops]


def test_offline_plan_makes_no_call_and_names_the_ip_placeholder(cloud):
    plan = cloud.planner().plan_offline(request(ports=(("TCP", 80), ("UDP", 53))))
    assert cloud.counter.totals() == (0, 0)
    text = [op.describe() for op in plan]
    assert text[0].startswith("create compute/instance-group k8s-ig--kubernetes")
    assert any("<ip>" in str(op.to_json()) for op in plan), text
    kinds = [op.resource.type for op in plan if op.kind == "create"]
    assert kinds.count("compute/forwarding-rule") == 2 and "compute/address" in kinds


def _rule(name, proto, ports, ip="35.1.2.3"):
    return {"name": name, "IPProtocol": proto, "ports": ports, "IPAddress": ip, "loadBalancingScheme": "EXTERNAL",
            "backendService": f"https://www.googleapis.com/compute/v1/projects/p/regions/r/backendServices/{LB}",
            "networkTier": "PREMIUM", "description": OURS, "fingerprint": "f"}


def test_a_port_change_promotes_the_ephemeral_ip_before_rebuilding_and_releases_it_after():
    d = _desired(request(ports=(("TCP", 8080),)))
    first = plan_load_balancer(d, Observed(rules={LB: _rule(LB, "TCP", ["80"])}), CONFIG)
    steps = _steps(first.operations)
    assert steps[:2] == [f"insert addresses {LB}", f"delete forwardingRules {LB}"]
    assert steps[-1] == f"insert forwardingRules {LB}"
    assert first.operations[0].body["address"] == "35.1.2.3"
    after = Observed(rules={LB: _rule(LB, "TCP", ["8080"])}, address={"name": LB, "address": "35.1.2.3",
                                                                     "description": OURS})
    assert f"delete addresses {LB}" in _steps(plan_firewalls(d, after, CONFIG))


def test_an_unreserved_external_load_balancer_ip_is_refused_before_any_call():
    with pytest.raises(UserError) as err:
        plan_load_balancer(_desired(request(requested_ip="35.9.9.9")), Observed(), CONFIG)
    assert err.value.reason == "InvalidLoadBalancerIP"


def test_a_foreign_resource_stops_the_plan():
    with pytest.raises(UserError) as err:
        plan_load_balancer(_desired(request()), Observed(foreign=("firewall k8s-fw-x",)), CONFIG)
    assert err.value.reason == "ForeignLoadBalancer"


def test_delete_is_dependency_ordered_and_leaves_shared_resources():
    o = Observed(rules={LB: _rule(LB, "TCP", ["80"])}, backend={"name": LB},
                 health_checks={LB: {}, "k8s-kubernetes-node": {}},
                 firewalls={f"k8s-fw-{LB}": {"description": OURS},
                            "k8s-kubernetes-node-http-hc": {"description": '{"kubernetes.io/cluster-id": "kubernetes"}'}},
                 address={"name": LB})
    assert _steps(plan_delete(LB, "kubernetes", o)) == [
        f"delete forwardingRules {LB}", f"delete backendServices {LB}", f"delete healthChecks {LB}",
        f"delete firewalls k8s-fw-{LB}", f"delete addresses {LB}"]
