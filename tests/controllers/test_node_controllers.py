"""cloud-node and cloud-node-lifecycle controllers through the embedded API with the fake cloud."""

from __future__ import annotations

import logging
from typing import Any

import kubernetes.client
import pytest

from ccm.controllers import selection
from ccm.controllers.nodeutil import TAINT_SHUTDOWN, TAINT_UNINITIALIZED
from providers.fake import FakeCloud, FakeInstances
from tests.util import wait_for

UNINITIALIZED = {"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}
FAST = {"node_monitor_period": 0.05, "node_status_update_frequency": 0.1}


def make_node(core: Any, name: str, *, ready: str | None = None, taints=(UNINITIALIZED,), provider_id: str = "",
              labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
              addresses=(("InternalIP", "10.0.0.9"), ("Hostname", "kubelet-name"))) -> Any:
    body: dict[str, Any] = {
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {"taints": list(taints)},
        "status": {"addresses": [{"type": t, "address": a} for t, a in addresses]},
    }
    if provider_id:
        body["spec"]["providerID"] = provider_id
    if ready is not None:
        body["status"]["conditions"] = [{"type": "Ready", "status": ready, "reason": "KubeletReady"}]
    return core.create_node(body)  # type: ignore[arg-type]


def taint_keys(node: Any) -> list[str]:
    return [t.key for t in node.spec.taints or ()]


def node_events(core: Any, name: str) -> list[str]:
    items = core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items
    return [f"{e.type} {e.reason} {e.source.component if e.source else ''}: {e.message}" for e in items]


@pytest.fixture
def core(api_client) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client)


@pytest.fixture
def vms() -> FakeInstances:
    return FakeInstances(unknown="absent")


@pytest.fixture
def fake(vms) -> FakeCloud:
    return FakeCloud(instances=vms)


def test_a_tainted_node_is_initialised_from_the_cloud(core, fake, vms, start_manager):
    vms.add("n1", addresses=(("InternalIP", "10.1.0.5"), ("ExternalIP", "203.0.113.5")), instance_type="m.large",
            zone="zone-a", region="region-1", labels={"cloud.example/pool": "blue", "node.kubernetes.io/evil": "x",
                                                       "team": "cloud"})
    make_node(core, "n1", labels={"team": "mine"})
    start_manager(fake, **FAST)

    node = wait_for(lambda: (n := core.read_node("n1")) and TAINT_UNINITIALIZED not in taint_keys(n) and n,
                    message="n1 to lose the uninitialized taint")
    assert node.spec.provider_id == "fake://n1"
    labels = node.metadata.labels
    for key, value in {"node.kubernetes.io/instance-type": "m.large", "beta.kubernetes.io/instance-type": "m.large",
                       "topology.kubernetes.io/zone": "zone-a", "failure-domain.beta.kubernetes.io/zone": "zone-a",
                       "topology.kubernetes.io/region": "region-1",
                       "failure-domain.beta.kubernetes.io/region": "region-1", "cloud.example/pool": "blue"}.items():
        assert labels[key] == value, key
    assert labels["team"] == "mine" and "node.kubernetes.io/evil" not in labels  # never overwritten / reserved
    # the cloud's addresses, plus kubelet's Hostname since the cloud gave none
    # addresses follow the taint's removal (upstream's order: spec update, then the status patch)
    addresses = wait_for(lambda: (got := [(a.type, a.address) for a in core.read_node("n1").status.addresses or ()
                                          if a.address != "10.0.0.9"]) and ("InternalIP", "10.1.0.5") in got and got,
                         message="the cloud's addresses on n1")
    assert addresses == [("InternalIP", "10.1.0.5"), ("ExternalIP", "203.0.113.5"), ("Hostname", "kubelet-name")]
    assert wait_for(lambda: [e for e in node_events(core, "n1") if "Synced" in e]) == [
        "Normal Synced cloud-node-controller: Node synced successfully"]


def test_a_node_stays_tainted_until_the_cloud_knows_it(core, fake, vms, start_manager, caplog):
    caplog.set_level(logging.INFO)
    vms.fail("metadata", RuntimeError("cloud API unavailable"), times=2)
    vms.add("n1")
    make_node(core, "n1")
    start_manager(fake, **FAST)
    wait_for(lambda: TAINT_UNINITIALIZED not in taint_keys(core.read_node("n1")), message="initialised after retries")
    assert len(vms.calls_of("metadata", "n1")) >= 3
    assert "error syncing 'n1': failed to get instance metadata for node n1: cloud API unavailable, requeuing" \
        in caplog.text


def test_nil_metadata_and_missing_provider_id_leave_the_taint(core, fake, vms, start_manager, caplog):
    caplog.set_level(logging.INFO)
    vms.unready.add("later")
    make_node(core, "later")
    start_manager(fake, **FAST)
    wait_for(lambda: "Skip sync node later because cloud provided nil metadata" in caplog.text)
    assert TAINT_UNINITIALIZED in taint_keys(core.read_node("later"))
    assert core.read_node("later").spec.provider_id is None


def test_provider_id_is_required_before_untainting(core, start_manager, caplog):
    """issues.k8s.io/123024: a cloud that sets no provider ID must not get the node untainted."""
    from providers.instances import InstanceMetadata

    class NoIds(FakeInstances):
        def instance_metadata(self, node):  # type: ignore[no-untyped-def]
            return InstanceMetadata("", "t", (), "z", "r")

    caplog.set_level(logging.INFO)
    make_node(core, "n1")
    start_manager(FakeCloud(instances=NoIds()), **FAST)
    wait_for(lambda: "cloud provider does not set node provider ID" in caplog.text)
    assert TAINT_UNINITIALIZED in taint_keys(core.read_node("n1"))
    # a providerID kubelet set is kept and the node initialised
    make_node(core, "n2", provider_id="fake://n2")
    wait_for(lambda: TAINT_UNINITIALIZED not in taint_keys(core.read_node("n2")))
    assert core.read_node("n2").spec.provider_id == "fake://n2"


def test_provided_node_ip_must_be_a_cloud_address(core, fake, vms, start_manager, caplog):
    caplog.set_level(logging.INFO)
    vms.add("bad", addresses=(("InternalIP", "10.1.0.5"),))
    vms.add("good", addresses=(("InternalIP", "10.1.0.5"), ("InternalIP", "10.1.0.6")))
    make_node(core, "bad", annotations={"alpha.kubernetes.io/provided-node-ip": "10.9.9.9"})
    make_node(core, "good", annotations={"alpha.kubernetes.io/provided-node-ip": "10.1.0.6"})
    start_manager(fake, **FAST)
    wait_for(lambda: TAINT_UNINITIALIZED not in taint_keys(core.read_node("good")))
    wait_for(lambda: [a.address for a in core.read_node("good").status.addresses if a.type == "InternalIP"] == [
        "10.1.0.6"], message="kubelet's node IP to win its address type")
    wait_for(lambda: "provided node ip for node 'bad' is not valid" in caplog.text)
    assert TAINT_UNINITIALIZED in taint_keys(core.read_node("bad"))


def test_initialised_nodes_get_ga_labels_from_beta_ones(core, fake, start_manager):
    make_node(core, "old", taints=(), ready="True", labels={"failure-domain.beta.kubernetes.io/zone": "z1",
                                             "beta.kubernetes.io/instance-type": "t1",
                                             "topology.kubernetes.io/zone": "stale"})
    start_manager(fake, node_monitor_period=0.05, node_status_update_frequency=3600)
    labels = wait_for(lambda: (n := core.read_node("old").metadata.labels).get("topology.kubernetes.io/zone") == "z1"
                      and n)
    assert labels["node.kubernetes.io/instance-type"] == "t1"
    assert fake.vms.calls == []  # an initialised node costs no cloud call (until the periodic address refresh)


def test_periodic_address_refresh(core, fake, vms, start_manager):
    vms.add("n1", addresses=(("InternalIP", "10.1.0.5"),))
    make_node(core, "n1", taints=(), provider_id="fake://n1", ready="True")
    start_manager(fake, **FAST)
    wait_for(lambda: [a.address for a in core.read_node("n1").status.addresses if a.type == "InternalIP"] == [
        "10.1.0.5"])
    vms.add("n1", addresses=(("InternalIP", "10.1.0.7"),))
    wait_for(lambda: [a.address for a in core.read_node("n1").status.addresses if a.type == "InternalIP"] == [
        "10.1.0.7"], message="the periodic loop to pick up the new address")


def test_lifecycle_deletes_gone_nodes_and_taints_stopped_ones(core, fake, vms, start_manager):
    for name in ("gone", "stopped", "healthy", "flaky"):
        vms.add(name)
    vms.set_state("gone", "terminated")
    vms.set_state("stopped", "stopped")
    vms.set_state("healthy", "stopped")  # Ready: the cloud is not even asked
    make_node(core, "gone", taints=(), provider_id="fake://gone", ready="False")
    make_node(core, "stopped", taints=(), provider_id="fake://stopped", ready="Unknown")
    make_node(core, "healthy", taints=(), provider_id="fake://healthy", ready="True")
    make_node(core, "flaky", taints=(), provider_id="fake://flaky", ready="False")
    vms.fail("exists", lambda node: RuntimeError("throttled") if node.name == "flaky" else None, times=None)
    start_manager(fake, **FAST)

    def deleted() -> bool:
        try:
            core.read_node("gone")
        except kubernetes.client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(deleted, message="the terminated instance's node to be deleted")
    assert wait_for(lambda: [e for e in node_events(core, "gone") if "DeletingNode" in e]) == [
        "Normal DeletingNode cloud-node-lifecycle-controller: Deleting node gone because it does not exist in "
        "the cloud provider"]
    node = wait_for(lambda: (n := core.read_node("stopped")) and TAINT_SHUTDOWN in taint_keys(n) and n)
    assert [(t.key, t.effect) for t in node.spec.taints] == [(TAINT_SHUTDOWN, "NoSchedule")]
    assert vms.calls_of("exists", "healthy") == [] and TAINT_SHUTDOWN not in taint_keys(core.read_node("healthy"))
    assert core.read_node("flaky")  # an error is never "gone"

    # the machine comes back and kubelet reports Ready: the taint goes
    vms.set_state("stopped", "running")
    core.patch_node_status("stopped", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    wait_for(lambda: TAINT_SHUTDOWN not in taint_keys(core.read_node("stopped")), message="shutdown taint removed")


def test_controllers_flag_and_missing_capabilities(core, start_manager, caplog):
    caplog.set_level(logging.INFO)
    make_node(core, "n1")
    mgr = start_manager(FakeCloud(), controllers=("service", "-cloud-node"), **FAST)
    assert mgr.runnable == [selection.SERVICE]
    assert '"cloud-node-controller" is disabled' in caplog.text
    assert TAINT_UNINITIALIZED in taint_keys(core.read_node("n1"))
    mgr.stop()

    class NoInstances(FakeCloud):
        def instances(self):  # type: ignore[no-untyped-def]
            return None

    mgr = start_manager(NoInstances())
    assert mgr.runnable == [selection.SERVICE]
    assert "cloud-node: cloud provider does not support instances" in caplog.text
    assert 'Skipping "cloud-node-lifecycle-controller"' in caplog.text
    assert mgr.ready() == (True, "ok")
