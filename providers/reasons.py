"""The reasons adapters give (``UserError.reason``, ``ProviderWarning.reason``), with what to do.

The controller turns them into Warning events on the Service; ``docs/operations.md`` is generated
from this table and ``tests/docgen`` checks that every reason an adapter spells out is here.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Reason:
    name: str
    meaning: str
    action: str


_REASONS = [
    Reason("ForeignLoadBalancer", "A cloud resource with the name ccm would use exists without this cluster's and "
           "Service's ownership marks; it is never adopted, modified or deleted.",
           "Find who owns it (its tags, labels or description). Delete or rename it if it is a leftover, or "
           "choose another cluster name (--cluster-name) if two clusters collide."),
    Reason("UnsupportedAnnotation", "An annotation the adapter cannot build for this load-balancer type (an "
           "NLB-only key on a Classic ELB, say).", "Remove it or change the load-balancer type."),
    Reason("UnsupportedProtocol", "A port protocol the load-balancer type cannot carry (SCTP; UDP on a Classic "
           "ELB). Other ports are still served where the type allows.", "Use a type that carries it (AWS: NLB) "
           "or drop the port."),
    Reason("UnsupportedIPFamily", "An IP family the adapter does not build (IPv6-only on the local cloud).",
           "Use a family the cloud supports."),
    Reason("InvalidLoadBalancerIP", "spec.loadBalancerIP (or the cloud's address annotation) is not usable: not an "
           "address of the pool, of the region, or not reserved.", "Reserve the address or fix the field."),
    Reason("LoadBalancerIPInUse", "The requested address belongs to another Service or load balancer.",
           "Choose a free address."),
    Reason("VIPPoolExhausted", "The local cloud's VIP pool has no free address.",
           "Widen --provider-option vip-pool or delete unused Services."),
    Reason("PortInUse", "Another process listens on a local VIP's port; that port is not served.",
           "Stop the other process or use another port."),
    Reason("PermissionDenied", "The local cloud may not listen on a port (below 1024 without the capability).",
           "Use a port above 1023 or grant CAP_NET_BIND_SERVICE."),
    Reason("ListenFailed", "The local cloud could not listen on a port for another reason (see the message).",
           "Read the message."),
    Reason("NodePortRequired", "A port without a nodePort (allocateLoadBalancerNodePorts: false) cannot be "
           "forwarded by a load balancer that targets node ports.", "Allocate node ports."),
    Reason("NodeWithoutAddress", "A node has no InternalIP or ExternalIP, so it cannot be a backend.",
           "Check the kubelet's --node-ip or the cloud-node controller."),
    Reason("NoSubnets", "No subnet is tagged for load balancers of this cluster (AWS: kubernetes.io/role/elb or "
           "internal-elb, and the cluster tag or none).", "Tag the subnets or name them in the subnets annotation."),
    Reason("SubnetNotFound", "A subnet the Service names does not exist (or a name matches several).",
           "Fix the subnets annotation."),
    Reason("InvalidSubnetMappings", "Elastic IPs or private addresses do not pair with the subnets (counts, scheme).",
           "Give one per subnet, on the right scheme."),
    Reason("InvalidHealthCheck", "The health-check settings are outside what the load-balancer type accepts.",
           "Use the ranges docs/annotations.md gives for that type."),
    Reason("InvalidBackendProtocol", "The backend protocol does not fit the listeners (HTTP without a certificate "
           "on a port that needs one, say).", "Fix the backend-protocol or certificate annotations."),
    Reason("InvalidAccessLogConfiguration", "Access logs are enabled without a bucket (or the reverse).",
           "Set both, or neither."),
    Reason("InvalidTargetGroupAttributes", "A target-group attribute conflicts with the Service (client-IP "
           "preservation off with UDP ports).", "Fix the attributes annotation."),
    Reason("InvalidLoadBalancerConfiguration", "The cloud rejected the request as written; the message is the "
           "cloud's.", "Read the message and fix the Service or the cloud configuration it names."),
    Reason("CreateOnlyAnnotationChanged", "A create-only setting differs from what the existing load balancer "
           "has; it keeps the old one.", "Revert, or re-create the Service."),
    Reason("NodeNotInProject", "Nodes whose providerID names another project (or none) are not load-balanced.",
           "Check the nodes' spec.providerID and the configured project."),
]
#: cloud API error codes passed through as reasons (AWS ValidationError, CertificateNotFound, ...)
CLOUD_CODES = Reason("<cloud error code>", "The cloud rejected a call with this code (AWS: ValidationError, "
                     "CertificateNotFound, TooManyLoadBalancers, DuplicateLoadBalancerName...).",
                     "Read the message; quotas need raising, names and certificates fixing.")

REASONS: dict[str, Reason] = {r.name: r for r in _REASONS}
