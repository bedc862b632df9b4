"""``ccm demo --provider openstack`` as a user runs it: a subprocess, checked through openstacksdk, then SIGINT."""

from __future__ import annotations

import re
from pathlib import Path

import openstack

from tests.test_demo import KUBECONFIG, CloudDemo

READY = re.compile(r"Ctrl-C deletes the Services")
KEYSTONE = re.compile(r"OpenStack endpoint \(Keystone\): (http://127\.0\.0\.1:\d+/identity/v3)\s*$")


def test_demo_openstack_builds_both_load_balancers_and_removes_them_on_sigint() -> None:
    with CloudDemo("openstack", 2) as demo:
        out = demo.out
        out.wait_for(READY, timeout=60)
        auth_url = out.wait_for(KEYSTONE, 1).group(1)
        kubeconfig = Path(out.wait_for(KUBECONFIG, 1).group(1))
        text = "".join(out.lines)
        assert "default/hello-public: 172.24.4." in text and "default/hello-internal: 10.0.0." in text, text
        conn = openstack.connection.Connection(auth_url=auth_url, username="ccm", password="secret",
                                               project_name="k8s", user_domain_name="Default",
                                               project_domain_name="Default")
        try:
            lbs = {lb.name: lb for lb in conn.load_balancer.load_balancers()}
            assert set(lbs) == {"kube_service_ccm-demo_default_hello-public",
                                "kube_service_ccm-demo_default_hello-internal"}, lbs
            pools = list(conn.load_balancer.pools(loadbalancer_id=lbs[
                "kube_service_ccm-demo_default_hello-internal"].id))
            assert [p.protocol for p in pools] == ["PROXYV2"]
        finally:
            conn.close()
        rest = demo.interrupt()
        assert "deleted Service default/hello-public; the controller removed its load balancer" in rest, rest
        assert "the emulator holds 0 load balancers and floating IPs" in rest, rest
        assert not kubeconfig.parent.exists()
