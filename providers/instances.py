"""The instances capability: what the cloud knows about the machine behind a Node.

Modelled on k8s.io/cloud-provider ``cloud.go`` ``InstancesV2``; a cloud hands it out from
:meth:`providers.port.CloudProvider.instances` (None when it has none, and then the cloud-node
and cloud-node-lifecycle controllers do not start). The node controllers are its only callers.

Obligations for every implementation:

* The :class:`~providers.port.Node` argument is read-only. Look the machine up by
  ``node.provider_id`` first; only when that is empty may the name (or labels) be used.
* :meth:`Instances.instance_exists` returning False *deletes the Node* (the lifecycle controller
  does so at once), so it must mean "the cloud says this machine is gone" (unknown id, terminated),
  never "I could not tell": a failed lookup raises.
* :meth:`Instances.instance_shutdown` is True only for a machine that still exists but is stopped;
  a machine that does not exist is not "shut down" (False), so that existence is checked next.
* :meth:`Instances.instance_metadata` must fill ``provider_id`` (the format is the cloud's own,
  ``<provider>://...``, and must never change incompatibly: it is written once into
  ``spec.providerID`` and the load-balancer and route controllers key on it). Returning None means
  "not known yet": the node stays tainted until its next update, and no error is logged.
* Errors: :class:`InstanceNotFound` when the machine is unknown to ``instance_metadata``; any
  other exception is a failed call (the controllers log it and retry with backoff or at the next
  period).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from providers.port import Node, NodeAddress, ProviderError

__all__ = ["InstanceMetadata", "InstanceNotFound", "Instances", "Node", "NodeAddress"]


class InstanceNotFound(ProviderError):
    """The cloud has no machine for this node (upstream ``cloudprovider.InstanceNotFound``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class InstanceMetadata:
    """What the cloud-node controller writes on a Node when it initialises it.

    ``instance_type`` becomes ``node.kubernetes.io/instance-type`` (and the beta label), ``zone``
    and ``region`` the topology labels (GA and beta), ``node_addresses`` ``status.addresses`` (in
    the cloud's order: the first InternalIP is the one most consumers pick). Empty strings and an
    empty address tuple mean "the cloud does not say"; nothing is written for them.
    ``additional_labels`` are extra provider labels (for example AWS's ``topology.k8s.aws/zone-id``);
    the controller never lets them overwrite a label the node already has, nor set one in the
    ``kubernetes.io``/``k8s.io`` namespaces.
    """

    provider_id: str
    instance_type: str = ""
    node_addresses: tuple[NodeAddress, ...] = ()
    zone: str = ""
    region: str = ""
    additional_labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.additional_labels, MappingProxyType):
            object.__setattr__(self, "additional_labels", MappingProxyType(dict(self.additional_labels)))
        if not isinstance(self.node_addresses, tuple):
            object.__setattr__(self, "node_addresses", tuple(self.node_addresses))


class Instances(abc.ABC):
    """A cloud's view of the machines behind Nodes (upstream ``InstancesV2``)."""

    @abc.abstractmethod
    def instance_exists(self, node: Node) -> bool:
        """True while the machine exists (in any state but terminated); False deletes the Node."""

    @abc.abstractmethod
    def instance_shutdown(self, node: Node) -> bool:
        """True when the machine exists and is stopped (the Node gets the shutdown taint)."""

    @abc.abstractmethod
    def instance_metadata(self, node: Node) -> InstanceMetadata | None:
        """The machine's provider id, type, addresses, zone and region; raise InstanceNotFound if unknown."""
