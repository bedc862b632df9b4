"""The cloud-node controller: initialise tainted Nodes from the cloud's instances capability."""

from ccm.controllers.node.controller import COMPONENT, NAME, CloudNodeController

__all__ = ["COMPONENT", "NAME", "CloudNodeController"]
