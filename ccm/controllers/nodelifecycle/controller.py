"""The cloud-node-lifecycle controller (k8s.io/cloud-provider ``controllers/nodelifecycle``).

No queue and no handlers: every ``node_monitor_period`` one pass over the cached Nodes, in order.
A Ready node only loses the shutdown taint (the cloud is not asked about healthy nodes). For a node
that is NotReady or Unknown the cloud is asked whether its machine exists: when it does not, a
``DeletingNode`` event is recorded and the Node deleted (``DeletingNodeFailed`` if that fails);
when it exists but is stopped, the node gets the NoSchedule shutdown taint. An error skips the
node until the next pass. Evicting pods is not this controller's business (kube-controller-manager's
node-lifecycle controller reads the shutdown taint).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ccm.controllers.nodeutil import TAINT_SHUTDOWN, NodeWriter, has_taint, name_of, ready_status
from ccm.controllers.service.request import node_from_api
from ccm.controllers.workers import Workers
from ccm.kube.client import ApiError, RawClient
from ccm.kube.events import NORMAL, WARNING, Recorder
from providers.instances import Instances

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NAME = "cloud-node-lifecycle"
COMPONENT = "cloud-node-lifecycle-controller"
SHUTDOWN_TAINT = {"key": TAINT_SHUTDOWN, "effect": "NoSchedule"}


class NodeLifecycleController:
    def __init__(self, client: RawClient, instances: Instances, recorder: Recorder,
                 list_nodes: Callable[[], Sequence[Obj]], *, monitor_period: float = 5.0) -> None:
        self.instances = instances
        self.recorder = recorder
        self.writer = NodeWriter(client)
        self.list_nodes = list_nodes
        self.monitor_period = monitor_period
        self._stop = threading.Event()
        self._threads = Workers(self._stop)

    def start(self) -> None:
        if not self._stop.is_set():
            self._threads.every(self.monitor_period, self.monitor_nodes, "node-lifecycle-monitor")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._threads.join(timeout)

    def healthy(self) -> tuple[bool, str]:
        return (False, "stopped") if self._stop.is_set() else (True, "ok")

    def monitor_nodes(self) -> None:
        for node in self.list_nodes():
            if self._stop.is_set():
                return
            try:
                self._monitor(node)
            except Exception as exc:
                log.error("node %s: %s", name_of(node), exc)

    def _monitor(self, node: Obj) -> None:
        name = name_of(node)
        if ready_status(node) == "True":
            if has_taint(node, TAINT_SHUTDOWN) and self.writer.remove_taint(name, TAINT_SHUTDOWN):
                log.info("node %s is Ready again: removed the shutdown taint", name)
            return
        model = node_from_api(node)
        try:
            exists = self.instances.instance_exists(model)
        except Exception as exc:
            log.error("error checking if node %s exists: %s", name, exc)
            return
        if not exists:
            log.info("deleting node %s because it does not exist in the cloud provider", name)
            self.recorder.event(node, NORMAL, "DeletingNode",
                                f"Deleting node {name} because it does not exist in the cloud provider")
            try:
                self.writer.delete(name)
            except ApiError as exc:
                if exc.is_not_found:
                    return
                log.error("unable to delete node %s: %s", name, exc)
                self.recorder.event(node, WARNING, "DeletingNodeFailed", f"Error deleting node {name}: {exc}")
            return
        try:
            shutdown = self.instances.instance_shutdown(model)
        except Exception as exc:
            log.error("error checking if node %s is shutdown: %s", name, exc)
            return
        if shutdown and self.writer.add_taint(name, SHUTDOWN_TAINT):
            log.info("node %s: its instance is shut down; added the shutdown taint", name)
