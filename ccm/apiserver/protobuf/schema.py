"""The Kubernetes protobuf schema of the kinds this server serves, as data.

kube-apiserver's protobuf encoding (``application/vnd.kubernetes.protobuf``) is proto2
messages generated from the Go types: each field's number is its ``protobuf:"...,N,..."``
struct tag in k8s.io/api and k8s.io/apimachinery, and its name is the field's JSON name.
Those numbers are the wire contract; this table states them for the messages the served
kinds reach (no generated code and no protoc at build or run time: :mod:`codec` turns the
table into descriptors with the ``protobuf`` library when first used).

Syntax, one string per message: ``name:number[:type]`` separated by spaces, where type is
``s`` (string, the default), ``i32``, ``i64``, ``b`` (bool), ``y`` (bytes), a message name,
``[T]`` (repeated T) or ``{T}`` (map<string, T>). A ``?`` after the name marks a Go pointer
(or otherwise meaningful-when-zero) field: decoded even when it holds the zero value; other
zero scalars are dropped on decode, as Go's JSON encoder omits them. Message names are
qualified by their Go package (``meta.``, ``core.``, ...); within a package they are bare.

To serve a new kind: add its messages here and a line to :data:`KINDS`; the round-trip
test (tests/apiserver/test_protobuf.py) picks it up.
"""

from __future__ import annotations

#: Go package -> protobuf package (the upstream names; they appear in no wire byte)
PACKAGES: dict[str, str] = {
    "runtime": "k8s.io.apimachinery.pkg.runtime",
    "meta": "k8s.io.apimachinery.pkg.apis.meta.v1",
    "intstr": "k8s.io.apimachinery.pkg.util.intstr",
    "resource": "k8s.io.apimachinery.pkg.api.resource",
    "core": "k8s.io.api.core.v1",
    "discovery": "k8s.io.api.discovery.v1",
    "events": "k8s.io.api.events.v1",
    "coordination": "k8s.io.api.coordination.v1",
    "authentication": "k8s.io.api.authentication.v1",
}

MESSAGES: dict[str, str] = {
    # --- k8s.io/apimachinery/pkg/runtime
    "runtime.TypeMeta": "apiVersion:1 kind:2",
    "runtime.Unknown": "typeMeta:1:TypeMeta raw:2:y contentEncoding:3 contentType:4",
    "runtime.RawExtension": "raw:1:y",
    # --- k8s.io/apimachinery/pkg/util/intstr, pkg/api/resource
    "intstr.IntOrString": "type?:1:i64 intVal?:2:i32 strVal?:3",
    "resource.Quantity": "string:1",
    # --- k8s.io/apimachinery/pkg/apis/meta/v1
    "meta.Time": "seconds:1:i64 nanos:2:i32",
    "meta.MicroTime": "seconds:1:i64 nanos:2:i32",
    "meta.FieldsV1": "Raw:1:y",
    "meta.ObjectMeta": (
        "name:1 generateName:2 namespace:3 selfLink:4 uid:5 resourceVersion:6 generation:7:i64 "
        "creationTimestamp:8:Time deletionTimestamp:9:Time deletionGracePeriodSeconds?:10:i64 labels:11:{s} "
        "annotations:12:{s} ownerReferences:13:[OwnerReference] finalizers:14:[s] "
        "managedFields:17:[ManagedFieldsEntry]"),
    "meta.OwnerReference": "kind:1 name:3 uid:4 apiVersion:5 controller?:6:b blockOwnerDeletion?:7:b",
    "meta.ManagedFieldsEntry": ("manager:1 operation:2 apiVersion:3 time:4:Time fieldsType:6 "
                                "fieldsV1:7:FieldsV1 subresource:8"),
    "meta.ListMeta": "selfLink:1 resourceVersion:2 continue:3 remainingItemCount?:4:i64",
    "meta.Condition": ("type:1 status:2 observedGeneration:3:i64 lastTransitionTime:4:Time reason:5 "
                       "message:6"),
    "meta.Status": "metadata:1:ListMeta status:2 message:3 reason:4 details:5:StatusDetails code:6:i32",
    "meta.StatusDetails": "name:1 group:2 kind:3 causes:4:[StatusCause] retryAfterSeconds:5:i32 uid:6",
    "meta.StatusCause": "reason:1 message:2 field:3",
    "meta.Preconditions": "uid?:1 resourceVersion?:2",
    "meta.DeleteOptions": ("gracePeriodSeconds?:1:i64 preconditions:2:Preconditions orphanDependents?:3:b "
                           "propagationPolicy?:4 dryRun:5:[s] "
                           "ignoreStoreReadErrorWithClusterBreakingPotential?:6:b"),
    "meta.WatchEvent": "type:1 object:2:runtime.RawExtension",
    # --- k8s.io/api/core/v1
    "core.ObjectReference": "kind:1 namespace:2 name:3 uid:4 apiVersion:5 resourceVersion:6 fieldPath:7",
    "core.LocalObjectReference": "name:1",
    "core.Namespace": "metadata:1:meta.ObjectMeta spec:2:NamespaceSpec status:3:NamespaceStatus",
    "core.NamespaceSpec": "finalizers:1:[s]",
    "core.NamespaceStatus": "phase:1 conditions:2:[NamespaceCondition]",
    "core.NamespaceCondition": "type:1 status:2 lastTransitionTime:4:meta.Time reason:5 message:6",
    "core.Service": "metadata:1:meta.ObjectMeta spec:2:ServiceSpec status:3:ServiceStatus",
    "core.ServiceSpec": (
        "ports:1:[ServicePort] selector:2:{s} clusterIP:3 type:4 externalIPs:5:[s] sessionAffinity:7 "
        "loadBalancerIP:8 loadBalancerSourceRanges:9:[s] externalName:10 externalTrafficPolicy:11 "
        "healthCheckNodePort:12:i32 publishNotReadyAddresses:13:b sessionAffinityConfig:14:SessionAffinityConfig "
        "ipFamilyPolicy?:17 clusterIPs:18:[s] ipFamilies:19:[s] allocateLoadBalancerNodePorts?:20:b "
        "loadBalancerClass?:21 internalTrafficPolicy?:22 trafficDistribution?:23"),
    "core.ServicePort": "name:1 protocol:2 port:3:i32 targetPort:4:intstr.IntOrString nodePort:5:i32 appProtocol?:6",
    "core.SessionAffinityConfig": "clientIP:1:ClientIPConfig",
    "core.ClientIPConfig": "timeoutSeconds?:1:i32",
    "core.ServiceStatus": "loadBalancer:1:LoadBalancerStatus conditions:2:[meta.Condition]",
    "core.LoadBalancerStatus": "ingress:1:[LoadBalancerIngress]",
    "core.LoadBalancerIngress": "ip:1 hostname:2 ipMode?:3 ports:4:[PortStatus]",
    "core.PortStatus": "port:1:i32 protocol:2 error?:3",
    "core.Node": "metadata:1:meta.ObjectMeta spec:2:NodeSpec status:3:NodeStatus",
    "core.NodeSpec": ("podCIDR:1 externalID:2 providerID:3 unschedulable:4:b taints:5:[Taint] "
                      "configSource:6:NodeConfigSource podCIDRs:7:[s]"),
    "core.Taint": "key:1 value:2 effect:3 timeAdded:4:meta.Time",
    "core.NodeConfigSource": "configMap:2:ConfigMapNodeConfigSource",
    "core.ConfigMapNodeConfigSource": "namespace:1 name:2 uid:3 resourceVersion:4 kubeletConfigKey:5",
    "core.NodeStatus": (
        "capacity:1:{resource.Quantity} allocatable:2:{resource.Quantity} phase:3 conditions:4:[NodeCondition] "
        "addresses:5:[NodeAddress] daemonEndpoints:6:NodeDaemonEndpoints nodeInfo:7:NodeSystemInfo "
        "images:8:[ContainerImage] volumesInUse:9:[s] volumesAttached:10:[AttachedVolume] "
        "config:11:NodeConfigStatus runtimeHandlers:12:[NodeRuntimeHandler] features:13:NodeFeatures"),
    "core.NodeCondition": ("type:1 status:2 lastHeartbeatTime:3:meta.Time lastTransitionTime:4:meta.Time "
                           "reason:5 message:6"),
    "core.NodeAddress": "type:1 address:2",
    "core.NodeDaemonEndpoints": "kubeletEndpoint:1:DaemonEndpoint",
    "core.DaemonEndpoint": "Port:1:i32",
    "core.NodeSystemInfo": ("machineID:1 systemUUID:2 bootID:3 kernelVersion:4 osImage:5 containerRuntimeVersion:6 "
                            "kubeletVersion:7 kubeProxyVersion:8 operatingSystem:9 architecture:10 "
                            "swap:11:NodeSwapStatus"),
    "core.NodeSwapStatus": "capacity?:1:i64",
    "core.ContainerImage": "names:1:[s] sizeBytes:2:i64",
    "core.AttachedVolume": "name:1 devicePath:2",
    "core.NodeConfigStatus": ("assigned:1:NodeConfigSource active:2:NodeConfigSource "
                              "lastKnownGood:3:NodeConfigSource error:4"),
    "core.NodeRuntimeHandler": "name:1 features:2:NodeRuntimeHandlerFeatures",
    "core.NodeRuntimeHandlerFeatures": "recursiveReadOnlyMounts?:1:b userNamespaces?:2:b",
    "core.NodeFeatures": "supplementalGroupsPolicy?:1:b",
    "core.Event": (
        "metadata:1:meta.ObjectMeta involvedObject:2:ObjectReference reason:3 message:4 source:5:EventSource "
        "firstTimestamp:6:meta.Time lastTimestamp:7:meta.Time count:8:i32 type:9 eventTime:10:meta.MicroTime "
        "series:11:EventSeries action:12 related:13:ObjectReference reportingComponent:14 reportingInstance:15"),
    "core.EventSource": "component:1 host:2",
    "core.EventSeries": "count:1:i32 lastObservedTime:2:meta.MicroTime",
    "core.Endpoints": "metadata:1:meta.ObjectMeta subsets:2:[EndpointSubset]",
    "core.EndpointSubset": "addresses:1:[EndpointAddress] notReadyAddresses:2:[EndpointAddress] ports:3:[EndpointPort]",
    "core.EndpointAddress": "ip:1 targetRef:2:ObjectReference hostname:3 nodeName?:4",
    "core.EndpointPort": "name:1 port:2:i32 protocol:3 appProtocol?:4",
    "core.ConfigMap": "metadata:1:meta.ObjectMeta data:2:{s} binaryData:3:{y} immutable?:4:b",
    "core.Secret": "metadata:1:meta.ObjectMeta data:2:{y} type:3 stringData:4:{s} immutable?:5:b",
    "core.ServiceAccount": ("metadata:1:meta.ObjectMeta secrets:2:[ObjectReference] "
                            "imagePullSecrets:3:[LocalObjectReference] automountServiceAccountToken?:4:b"),
    # --- k8s.io/api/authentication/v1
    "authentication.TokenRequest": "metadata:1:meta.ObjectMeta spec:2:TokenRequestSpec status:3:TokenRequestStatus",
    "authentication.TokenRequestSpec": "audiences:1:[s] boundObjectRef:3:BoundObjectReference expirationSeconds?:4:i64",
    "authentication.BoundObjectReference": "kind:1 apiVersion:2 name:3 uid:4",
    "authentication.TokenRequestStatus": "token:1 expirationTimestamp:2:meta.Time",
    # --- k8s.io/api/discovery/v1
    "discovery.EndpointSlice": ("metadata:1:meta.ObjectMeta endpoints:2:[Endpoint] ports:3:[EndpointPort] "
                                "addressType:4"),
    "discovery.Endpoint": ("addresses:1:[s] conditions:2:EndpointConditions hostname?:3 "
                           "targetRef:4:core.ObjectReference deprecatedTopology:5:{s} nodeName?:6 zone?:7 "
                           "hints:8:EndpointHints"),
    "discovery.EndpointConditions": "ready?:1:b serving?:2:b terminating?:3:b",
    "discovery.EndpointHints": "forZones:1:[ForZone] forNodes:2:[ForNode]",
    "discovery.ForZone": "name:1",
    "discovery.ForNode": "name:1",
    "discovery.EndpointPort": "name?:1 protocol?:2 port?:3:i32 appProtocol?:4",
    # --- k8s.io/api/events/v1
    "events.Event": (
        "metadata:1:meta.ObjectMeta eventTime:2:meta.MicroTime series:3:EventSeries reportingController:4 "
        "reportingInstance:5 action:6 reason:7 regarding:8:core.ObjectReference related:9:core.ObjectReference "
        "note:10 type:11 deprecatedSource:12:core.EventSource deprecatedFirstTimestamp:13:meta.Time "
        "deprecatedLastTimestamp:14:meta.Time deprecatedCount:15:i32"),
    "events.EventSeries": "count:1:i32 lastObservedTime:2:meta.MicroTime",
    # --- k8s.io/api/coordination/v1
    "coordination.Lease": "metadata:1:meta.ObjectMeta spec:2:LeaseSpec",
    "coordination.LeaseSpec": ("holderIdentity?:1 leaseDurationSeconds?:2:i32 acquireTime:3:meta.MicroTime "
                               "renewTime:4:meta.MicroTime leaseTransitions?:5:i32 strategy?:6 preferredHolder?:7"),
}

#: (apiVersion, kind) -> message; each also has a ``<kind>List`` (metadata:1 ListMeta, items:2)
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "core.Namespace",
    ("v1", "Service"): "core.Service",
    ("v1", "Node"): "core.Node",
    ("v1", "Event"): "core.Event",
    ("v1", "Endpoints"): "core.Endpoints",
    ("v1", "ConfigMap"): "core.ConfigMap",
    ("v1", "Secret"): "core.Secret",
    ("v1", "ServiceAccount"): "core.ServiceAccount",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.TokenRequest",
    ("discovery.k8s.io/v1", "EndpointSlice"): "discovery.EndpointSlice",
    ("events.k8s.io/v1", "Event"): "events.Event",
    ("coordination.k8s.io/v1", "Lease"): "coordination.Lease",
    ("v1", "Status"): "meta.Status",
    ("meta.k8s.io/v1", "DeleteOptions"): "meta.DeleteOptions",
    ("v1", "DeleteOptions"): "meta.DeleteOptions",
}

#: kinds that are not objects of a resource: no List message
NON_LIST_KINDS = frozenset({"Status", "DeleteOptions", "TokenRequest"})
