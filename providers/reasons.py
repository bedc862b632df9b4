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
    Reason("AnnotationConflict", "Two annotations ask for different things and one wins (AWS: "
           "aws-load-balancer-scheme over aws-load-balancer-internal, aws-load-balancer-attributes over the legacy "
           "access-log and cross-zone annotations); the message names both.",
           "Remove the one that loses, so the Service says what is built."),
    Reason("LoadBalancerRecreated", "AWS cannot change a load balancer's scheme: an internet-facing one the Service "
           "now wants internal is deleted and created again (the hostname changes).",
           "Expected after making a Service internal; update whatever points at the old hostname."),
    Reason("LoadBalancerRebuilt", "GCP: a change of load-balancer type, subnet or network tier rebuilds the "
           "forwarding rules (and the backend service for a type change); the IP changes, as upstream.",
           "Expected after such a change; update whatever points at the old IP, or reserve a static IP "
           "(spec.loadBalancerIP) before changing the tier."),
    Reason("InvalidConfiguration", "Azure: the Service and the cloud config together cannot be built (source ranges "
           "both in the spec and in azure-allowed-ip-ranges; an internal load balancer without vnetName and "
           "subnetName).", "Keep one source-range setting; complete azure.json or set the internal-subnet annotation."),
    Reason("InvalidHealthProbeConfiguration", "Azure: a per-port health probe is not buildable (interval x "
           "num-of-probe of 120 s or more, a probe port naming no port of the Service).",
           "Fix the port's health-probe annotations."),
    Reason("ConflictConfiguration", "Azure: both source ranges and azure-allowed-service-tags are set; traffic from "
           "either is allowed (as upstream).", "Keep only the setting you mean, if that is not what you want."),
    Reason("HighAvailabilityPortsIgnored", "Azure: HA ports exist only on internal Standard load balancers; a public "
           "Service gets one rule per port instead.", "Remove the annotation, or make the Service internal."),
    Reason("UserPublicIPUnchanged", "Azure: the DNS-label, pip-tags and pip-ip-tags annotations apply only to public "
           "IPs ccm creates; a user's public IP (azure-pip-name, a requested address) is used as it is.",
           "Set the label and tags on your public IP yourself, or let ccm create one."),
    Reason("PublicIPNotFound", "Azure: the public IP the Service names (azure-pip-name or its address) does not exist "
           "in the resource group ccm looks in.", "Create it, fix the name or address, or set "
           "azure-load-balancer-resource-group to its resource group."),
    Reason("SecurityGroupNotConfigured", "Azure: azure.json has no securityGroupName, so ccm manages no NSG rules: "
           "nothing is opened for the Service and its source ranges are not enforced by ccm.",
           "Set securityGroupName to the cluster's NSG, or manage the rules yourself."),
    Reason("SecurityGroupNotFound", "Azure: the NSG azure.json names does not exist; the Service's rules cannot be "
           "written.", "Create the NSG or fix securityGroupName."),
    Reason("SecurityGroupFull", "Azure: the NSG has no free rule priority left in the range ccm uses.",
           "Remove unused rules from the NSG, or consolidate Services."),
    Reason("LoadBalancerSubnetMissing", "OpenStack: no VIP subnet is known (cloud.conf subnet-id, or the subnet-id, "
           "network-id or port-id annotations).", "Set subnet-id in cloud.conf [LoadBalancer] or annotate the "
           "Service."),
    Reason("LoadBalancerFloatingNetworkMissing", "OpenStack: a public load balancer needs a floating network and "
           "none is configured.", "Set floating-network-id in cloud.conf or the annotation, or make the Service "
           "internal."),
    Reason("FloatingSubnetNotFound", "OpenStack: no subnet of the floating network matches the floating-subnet name "
           "or tags the Service (or its class) gives.", "Fix the name or tags, or use floating-subnet-id."),
    Reason("LoadBalancerClassUnknown", "OpenStack: the class annotation names a [LoadBalancerClass] cloud.conf does "
           "not define.", "Fix the annotation or add the class to cloud.conf."),
    Reason("LoadBalancerOptionConflict", "OpenStack: annotations that exclude each other (X-Forwarded-For needs an "
           "HTTP listener, PROXY protocol a TCP pool).", "Keep one of them."),
    Reason("LoadBalancerOptionUnsupported", "OpenStack: the Octavia provider cannot build what is asked (OVN: no "
           "PROXY protocol, X-Forwarded-For or TLS termination; or Octavia answered 501).",
           "Use the amphora provider (lb-provider) or drop the option."),
    Reason("LoadBalancerSourceRangesUnsupported", "OpenStack: the OVN provider cannot restrict source ranges "
           "(no allowed_cidrs); the load balancer is not built rather than left open.",
           "Remove loadBalancerSourceRanges or use the amphora provider."),
    Reason("InvalidHealthMonitor", "OpenStack: the health monitor's timeout exceeds its delay.",
           "Lower health-monitor-timeout or raise health-monitor-delay (annotations or cloud.conf)."),
    Reason("InvalidSourceRanges", "OpenStack: loadBalancerSourceRanges has no range of the VIP's IP family; an empty "
           "allowed_cidrs would admit everyone, so nothing is built.", "Add a range of the VIP's family."),
    Reason("LoadBalancerForcedInternal", "OpenStack: cloud.conf internal-lb = true makes every load balancer "
           "internal; an annotation asking for a public one is ignored (as upstream).",
           "Expected; ask the cluster operator if the Service must be public."),
    Reason("LoadBalancerHealthMonitorDegraded", "OpenStack: the OVN provider has no HTTP monitors, so members are "
           "checked by TCP on the node port and nodes without endpoints stay in the pool.",
           "Use the amphora provider for externalTrafficPolicy: Local, or accept the TCP check."),
    Reason("LoadBalancerMembersSkipped", "OpenStack: some nodes have no address on the member subnet and get no "
           "member.", "Set member-subnet-id (annotation or cloud.conf) to the nodes' subnet."),
    Reason("LoadBalancerSharingNotSupported", "OpenStack: load-balancer-id names a load balancer that is not this "
           "Service's own; sharing or adopting one is not implemented.", "Remove the annotation."),
    Reason("LoadBalancerProvisioningError", "OpenStack: the load balancer is in provisioning status ERROR and Octavia "
           "accepts no change; ccm retries.", "Fail it over (openstack loadbalancer failover <id>) or delete it; "
           "ccm carries on when it is ACTIVE."),
    Reason("OpenStackRejected", "OpenStack answered 400 or 409 to a call as written; the message is Octavia's or "
           "Neutron's.", "Read the message and fix the Service or cloud.conf."),
    Reason("QuotaExceeded", "The cloud refused a create because a project quota is used up (OpenStack: load "
           "balancers, listeners, floating IPs...).", "Raise the quota or delete unused resources."),
    Reason("Forbidden", "The cloud refused a call for lack of permission (OpenStack 403).",
           "Give ccm's credentials the roles deploy/iam/README.md lists."),
]
#: cloud API error codes passed through as reasons (AWS ValidationError, CertificateNotFound, ...)
CLOUD_CODES = Reason("<cloud error code>", "The cloud rejected a call with this code (AWS: ValidationError, "
                     "CertificateNotFound, TooManyLoadBalancers, DuplicateLoadBalancerName...).",
                     "Read the message; quotas need raising, names and certificates fixing.")

REASONS: dict[str, Reason] = {r.name: r for r in _REASONS}
