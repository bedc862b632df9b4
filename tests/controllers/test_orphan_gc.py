"""The orphan collector (``--gc-period``, ``--gc-delete``) on the fake cloud against the embedded API.

The sweep runs on a fake clock here (``OrphanCollector.sweep``), so the grace period is exact;
the manager wiring runs it for real with a short period. The same sweep against moto and the
GCE emulator is in tests/reliability/test_orphan_gc.py.
"""

from __future__ import annotations

import argparse

import pytest
from prometheus_client import REGISTRY

from ccm.controllers import cli, selection
from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.controllers.orphans import OrphanCollector
from ccm.controllers.orphans.controller import DELETED, ORPHANED
from ccm.controllers.orphans.sweep import Grace, candidates
from ccm.controllers.service.predicates import LOAD_BALANCER_CLEANUP_FINALIZER, ClassFilter
from ccm.kube.client import RawClient
from ccm.kube.clock import FakeClock
from ccm.kube.events import EventRecorder, FakeRecorder
from providers.fake import FakeCloud
from providers.port import LoadBalancerRequest, OwnedResource, Resource, ServicePort
from tests.util import wait_for

PERIOD = 60.0


def orphan(cloud: FakeCloud, name: str, namespace: str = "default") -> None:
    """A load balancer in the cloud for ``namespace/name`` (as if made before the Service went away)."""
    cloud.lb.ensure(LoadBalancerRequest("kubernetes", namespace, name, f"uid-{namespace}-{name}",
                                        ports=(ServicePort("http", "TCP", 80, 30080),)))


def keys(cloud: FakeCloud) -> set[str]:
    return {s.key for s in cloud.lb.specs()}


def collector(api_client, cloud, *, delete=False, recorder=None, classes=None, client=None):
    clock = FakeClock()
    gc = OrphanCollector(client or RawClient(api_client), cloud, recorder or FakeRecorder(), period=PERIOD,
                         delete=delete, classes=classes, clock=clock)
    return gc, clock


def gauge(action: str) -> float | None:
    return REGISTRY.get_sample_value("ccm_orphan_resources", {"provider": "fake", "action": action})


# ---- pure ---------------------------------------------------------------------------------------


def owned(service: str, *names: str) -> tuple[OwnedResource, ...]:
    return tuple(OwnedResource(Resource("x/lb", n), service) for n in names)


def test_only_services_gone_or_no_longer_ours_are_candidates():
    lb = {"spec": {"type": "LoadBalancer"}}
    inventory = {
        "": owned("", "shared-group"),  # shared per-cluster resources: never
        "bad-key": owned("bad-key", "x"),  # not namespace/name: never
        "a/ours": owned("a/ours", "1"),
        "a/gone": owned("a/gone", "2"),
        "a/clusterip": owned("a/clusterip", "3"),
        "a/cleaning": owned("a/cleaning", "4"),
        "a/other-class": owned("a/other-class", "5"),
    }
    services = {
        "a/ours": lb,
        "a/clusterip": {"spec": {"type": "ClusterIP"}},
        "a/cleaning": {"metadata": {"finalizers": [LOAD_BALANCER_CLEANUP_FINALIZER]}, "spec": {"type": "ClusterIP"}},
        "a/other-class": {"spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/other"}},
    }
    found = {c.service: c.why.name for c in candidates(inventory, services, ClassFilter())}
    assert found == {"a/gone": "DELETED", "a/clusterip": "NOT_OURS", "a/other-class": "NOT_OURS"}
    owning_the_class = ClassFilter(load_balancer_class="example.com/other")
    assert "a/other-class" not in {c.service for c in candidates(inventory, services, owning_the_class)}


def test_grace_needs_every_resource_of_a_key_to_be_one_period_old():
    grace = Grace(10.0)
    first = candidates({"a/b": owned("a/b", "lb")}, {}, ClassFilter())
    assert grace.split(first, now=0.0) == ([], first)
    assert grace.split(first, now=9.9) == ([], first)
    grown = candidates({"a/b": owned("a/b", "lb", "new-sg")}, {}, ClassFilter())
    assert grace.split(grown, now=10.0) == ([], grown)  # the new group is younger than a period
    assert grace.split(grown, now=20.0) == (grown, [])
    grace.split([], now=21.0)  # gone (or protected) for one sweep: it starts over
    assert grace.split(grown, now=22.0) == ([], grown)


# ---- the sweep against the API --------------------------------------------------------------


def test_dry_run_reports_after_one_period_and_deletes_nothing(api_client, kube):
    cloud = FakeCloud()
    kube.service("kept")  # a LoadBalancer Service of ours: its load balancer is never a candidate
    orphan(cloud, "kept")
    orphan(cloud, "gone")
    recorder = FakeRecorder()
    gc, clock = collector(api_client, cloud, recorder=recorder)
    first = gc.sweep()
    assert (first.waiting, first.would_delete, recorder.events) == (["default/gone"], [], [])
    assert gauge("waiting") == 1
    clock.step(PERIOD)
    second = gc.sweep()
    assert second.would_delete == ["default/gone"] and second.deleted == {}
    assert gauge("would_delete") == 1 and gauge("waiting") == 0
    assert keys(cloud) == {"default/kept", "default/gone"}
    [(key, text)] = recorder.objects
    assert key == "default/gone" and text.startswith(f"Warning {ORPHANED} 1 cloud resources")
    assert "fake/load-balancer a" in text and "--gc-delete" in text


def test_gc_delete_removes_orphans_only(api_client, kube):
    cloud = FakeCloud()
    for name in ("ours", "gone", "now-clusterip", "cleaning"):
        orphan(cloud, name)
    kube.service("ours")
    kube.service("now-clusterip", type="ClusterIP")
    cleaning = kube.service("cleaning", type="ClusterIP")
    kube.patch(cleaning.metadata.name, {"metadata": {"finalizers": [LOAD_BALANCER_CLEANUP_FINALIZER]}})
    gc, clock = collector(api_client, cloud, delete=True)
    assert gc.sweep().deleted == {}
    clock.step(PERIOD)
    result = gc.sweep()
    assert sorted(result.deleted) == ["default/gone", "default/now-clusterip"]
    assert keys(cloud) == {"default/ours", "default/cleaning"}
    assert gc.sweep().deleted == {}  # nothing left to do


def test_a_service_recreated_before_the_delete_is_spared(api_client, kube):
    """The Service comes back between the sweep's list and its deletion: the re-read spares it."""
    cloud = FakeCloud()
    orphan(cloud, "back")

    class ListThenRecreate(RawClient):
        armed = False

        def list(self, path, params=None):
            out = super().list(path, params)
            if self.armed and "services" in path:
                kube.service("back")
            return out

    client = ListThenRecreate(api_client)
    gc, clock = collector(api_client, cloud, delete=True, client=client)
    gc.sweep()
    clock.step(PERIOD)
    client.armed = True
    result = gc.sweep()
    assert (result.spared, result.deleted) == (["default/back"], {})
    assert keys(cloud) == {"default/back"}


def test_events_name_the_vanished_service_in_its_namespace(api_client, kube):
    cloud = FakeCloud()
    kube.core.create_namespace({"metadata": {"name": "shop"}})
    orphan(cloud, "cart", namespace="shop")
    recorder = EventRecorder(RawClient(api_client), "orphan-gc-controller")
    gc, clock = collector(api_client, cloud, delete=True, recorder=recorder)
    gc.sweep()
    clock.step(PERIOD)
    assert list(gc.sweep().deleted) == ["shop/cart"]
    recorder.stop()
    [event] = kube.core.list_namespaced_event("shop").items
    ref = event.involved_object
    assert (ref.kind, ref.namespace, ref.name, ref.api_version) == ("Service", "shop", "cart", "v1")
    assert (event.type, event.reason) == ("Normal", DELETED)
    assert "Deleted 1 orphaned cloud resources (the Service no longer exists)" in event.message


# ---- wiring -----------------------------------------------------------------------------------


def test_the_manager_runs_the_sweep_only_with_a_period_and_when_selected(api_client):
    def names(**options) -> list[str]:
        return ControllerManager(api_client, FakeCloud(), ControllerOptions(**options)).runnable_names

    assert "orphan-gc" not in names()  # in process the default period is 0
    assert "orphan-gc" in names(gc_period=30)
    assert "orphan-gc" not in names(gc_period=30, controllers=selection.normalize(["*", "-orphan-gc"]))
    assert names(gc_period=30, controllers=selection.normalize(["orphan-gc"])) == ["orphan-gc"]

    class NoInventory(FakeCloud):
        def inventory(self):
            return None

    manager = ControllerManager(api_client, NoInventory(), ControllerOptions(gc_period=30))
    assert "orphan-gc" not in manager.runnable_names  # skipped with a warning, as upstream skips


def test_the_manager_deletes_what_a_service_deleted_while_ccm_was_down_left(start_manager, kube):
    cloud = FakeCloud()
    kube.node("node-a")
    first = start_manager(cloud)
    for name in ("web", "left"):
        kube.service(name)
        kube.wait_ip(name)
    first.stop()  # ccm is down: someone removes the finalizer by hand and the Service goes at once
    kube.patch("left", {"metadata": {"finalizers": None}})
    kube.delete("left")
    assert not kube.exists("left") and keys(cloud) == {"default/web", "default/left"}
    start_manager(cloud, gc_period=0.2, gc_delete=True)
    wait_for(lambda: keys(cloud) == {"default/web"}, 10, message=lambda: f"the orphan deleted: {keys(cloud)}")
    kube.wait_event("left", DELETED)
    assert kube.ingress_ip("web")


@pytest.mark.parametrize(("argv", "period", "delete"), [
    pytest.param([], 3600.0, False, id="default-hourly-dry-run"),
    pytest.param(["--gc-period", "30s", "--gc-delete"], 30.0, True, id="delete"),
    pytest.param(["--gc-period=0"], 0.0, False, id="disabled"),
])
def test_flags(argv, period, delete):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--cloud-provider", "fake", *argv])
    assert (args.gc_period, args.gc_delete) == (period, delete)
