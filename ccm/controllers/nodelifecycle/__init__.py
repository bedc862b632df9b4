"""The cloud-node-lifecycle controller: delete Nodes whose machine is gone, taint stopped ones."""

from ccm.controllers.nodelifecycle.controller import COMPONENT, NAME, NodeLifecycleController

__all__ = ["COMPONENT", "NAME", "NodeLifecycleController"]
