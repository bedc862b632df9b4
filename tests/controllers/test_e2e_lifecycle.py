"""Restart, resync, watch drops, leader election, HTTP endpoints and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from providers.fake import FakeCloud
from tests.util import wait_for


def converge(kube, names):
    for n in names:
        kube.service(n)
    return {n: kube.wait_ip(n) for n in names}


def test_restart_with_converged_services_makes_no_mutating_call(kube, cloud, start_manager):
    kube.node("n1")
    first = start_manager(cloud)
    ips = converge(kube, ["a", "b", "c"])
    first.stop()
    mutating, _ = cloud.lb.counter.totals()
    calls = len(cloud.lb.calls)
    start_manager(cloud)
    # start-up re-ensures every LB Service (upstream), but nothing changes in the cloud
    wait_for(lambda: len(cloud.lb.calls_of("ensure")) >= 6)
    assert cloud.lb.counter.totals()[0] == mutating
    assert len(cloud.lb.calls) == calls + 3
    assert {n: kube.ingress_ip(n) for n in ips} == ips


def test_resync_repairs_out_of_band_delete_and_steady_resync_writes_nothing(apiserver, kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud, resync_period=0.3)
    uid = kube.service("web").metadata.uid
    kube.wait_ip("web")
    kube.wait_event("web", "EnsuredLoadBalancer")
    ensures = len(cloud.lb.calls_of("ensure"))
    wait_for(lambda: len(cloud.lb.calls_of("ensure")) >= ensures + 2, message="two resyncs")
    writes, mutating = apiserver.write_count(), cloud.lb.counter.totals()[0]
    wait_for(lambda: len(cloud.lb.calls_of("ensure")) >= ensures + 4, message="two more resyncs")
    assert apiserver.write_count() == writes and cloud.lb.counter.totals()[0] == mutating
    cloud.lb.remove_out_of_band(uid)
    wait_for(lambda: cloud.lb.exists(uid), message="the resync to re-create the load balancer")
    assert cloud.lb.counter.totals()[0] == mutating + 1


def test_watch_drop_loses_no_update_and_causes_no_storm(apiserver, kube, cloud, start_manager):
    kube.node("n1")
    start_manager(cloud)
    converge(kube, ["a", "b"])
    ensures = len(cloud.lb.calls_of("ensure"))
    apiserver.drop_watches()
    kube.patch("a", [{"op": "replace", "path": "/spec/ports/0/port", "value": 8443}])
    apiserver.drop_watches()
    kube.node("n2")
    wait_for(lambda: [p.port for p in kube.get("a").status.load_balancer.ingress[0].ports] == [8443])
    wait_for(lambda: {n.name for n in cloud.lb.stored(kube.get("b").metadata.uid).nodes} == {"n1", "n2"})
    assert len(cloud.lb.calls_of("ensure")) == ensures + 1  # only the changed Service


def test_leader_election_handover(kube, start_manager):
    kube.node("n1")
    cloud_a, cloud_b = FakeCloud(), FakeCloud()
    opts = {"leader_elect": True, "lease_duration": 1.0, "renew_deadline": 0.6, "retry_period": 0.2}
    a = start_manager(cloud_a, identity="a", **opts)
    wait_for(a.is_leader, message="a to lead")
    b = start_manager(cloud_b, identity="b", **opts)
    assert b.wait_ready(5) and not b.is_leader()
    kube.service("one")
    kube.wait_ip("one")
    assert cloud_b.lb.calls == [] and cloud_a.lb.calls_of("ensure")
    # a stops renewing (as if partitioned); b must take over within the lease duration
    a_calls = len(cloud_a.lb.calls)
    a.elector.stop(release=False)
    assert not a.is_leader() and a.controller is None
    start = time.monotonic()
    wait_for(b.is_leader, timeout=5, message="b to take over")
    # lease_duration + one jittered retry period (retry * 2.2), plus scheduling slack on a loaded machine
    assert time.monotonic() - start < 1.0 + 0.2 * 2.2 + 1.0
    kube.service("two")
    kube.wait_ip("two")
    assert cloud_b.lb.calls_of("ensure", "default/two") and len(cloud_a.lb.calls) == a_calls
    assert not a.is_leader()  # a campaigns again but stands by


def test_metrics_health_and_readiness(kube, cloud, start_manager):
    kube.node("n1")
    mgr = start_manager(cloud, port=0)
    kube.service("web")
    kube.wait_ip("web")
    base = f"http://127.0.0.1:{mgr.health.port}"
    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert 'running_managed_controllers{manager="cloud-controller-manager",name="service"} 1.0' in text
    for name in ("service_controller_nodesync_latency_seconds", "service_controller_loadbalancer_sync_total",
                 "service_controller_update_loadbalancer_host_latency_seconds",
                 "service_controller_nodesync_error_total", 'workqueue_adds_total{name="service"}',
                 "ccm_provider_operations_total"):
        assert name in text, name


def test_cli_runs_the_fake_provider(apiserver, kube, tmp_path):
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    kube.node("n1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccm", "controller", "--kubeconfig", str(kubeconfig), "--cloud-provider", "fake",
         "--cluster-name", "test", "--concurrent-service-syncs", "2", "--secure-port", "0", "--logging-format",
         "json", "--kube-api-qps", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        kube.service("web")
        assert kube.wait_ip("web", timeout=20).startswith("192.0.2.")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in _out.splitlines()]  # json mode: stdout holds only log objects
    assert any("default/web" in entry["msg"] for entry in lines) and err == ""


def test_pending_cleanup_is_redriven_after_restart(kube, cloud, start_manager):
    """kubernetes#53451/#78954: a deletion or type change made while the controller was down."""
    kube.node("n1")
    first = start_manager(cloud)
    uids = {n: kube.service(n).metadata.uid for n in ("gone", "typed")}
    converge_ips = {n: kube.wait_ip(n) for n in uids}
    assert all(converge_ips.values())
    first.stop()
    kube.delete("gone")  # stays Terminating: our finalizer holds it
    kube.patch("typed", {"spec": {"type": "ClusterIP"}})
    assert kube.exists("gone")
    start_manager(cloud)
    wait_for(lambda: not kube.exists("gone"), message="the terminating Service to be released")
    wait_for(lambda: not kube.get("typed").metadata.finalizers and not kube.ingress_ip("typed"))
    assert not cloud.lb.exists(uids["gone"]) and not cloud.lb.exists(uids["typed"])


def test_recreated_service_with_new_uid_replaces_the_old_load_balancer(kube, cloud, start_manager):
    """§1.5 step 2: the cached Service has another uid, so its load balancer is deleted first."""
    kube.node("n1")
    start_manager(cloud)
    old_uid = kube.service("web").metadata.uid
    kube.wait_ip("web")
    # someone strips the finalizer and deletes the Service: no event reaches the controller's queue
    kube.patch("web", [{"op": "remove", "path": "/metadata/finalizers"}])
    kube.delete("web")
    wait_for(lambda: not kube.exists("web"))
    new_uid = kube.service("web").metadata.uid
    wait_for(lambda: cloud.lb.exists(new_uid) and kube.ingress_ip("web"))
    assert not cloud.lb.exists(old_uid)
    ops = [(c.operation, c.request.uid) for c in cloud.lb.calls]
    assert ops[-2:] == [("delete", old_uid), ("ensure", new_uid)]


def test_stop_is_prompt_and_joins_every_thread(apiserver, kube, cloud):
    import threading

    from ccm.controllers.manager import ControllerManager, ControllerOptions

    kube.node("n1")
    before = set(threading.enumerate())
    client = apiserver.api_client()
    mgr = ControllerManager(client, cloud, ControllerOptions(
        concurrent_service_syncs=3, resync_period=0.2, leader_elect=True, lease_duration=1.0,
        renew_deadline=0.6, retry_period=0.2, port=0))
    mgr.start()
    wait_for(mgr.is_leader)
    kube.service("web")
    kube.wait_ip("web")
    start = time.monotonic()
    mgr.stop()
    assert time.monotonic() - start < 3.0
    client.close()
    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []
