"""Tencent TKE annotations (``service.kubernetes.io/``, ``service.cloud.tencent.com/``).

Vendor-documented only (closed-source controller). Constants are named from the key without
its domain, dots becoming ``_``.
"""

from __future__ import annotations

from ccm.annotations.registry import declarer
from ccm.annotations.types import Enum, Int, JsonObject, List, Str, TrueFalse

_tke = declarer("service.kubernetes.io/", "tencent", upstream="DOC")
_tcloud = declarer("service.cloud.tencent.com/", "tencent", upstream="DOC")
_BOOL = TrueFalse()

QCLOUD_LOADBALANCER_INTERNAL_SUBNETID = _tke(
    "qcloud-loadbalancer-internal-subnetid", Str(pattern=r"subnet-[0-9a-z]+", what="a subnet ID (subnet-...)", sample="subnet-0abc123"),
    create_only=True, default_doc="public CLB",
    doc="Creates a private CLB in this subnet. Create-only: a CLB keeps its network type.",
    category="addresses",
)
TKE_EXISTED_LBID = _tke(
    "tke-existed-lbid", Str(pattern=r"lb-[0-9a-z]+", what="a CLB ID (lb-...)", sample="lb-0abc123"),
    doc="Reuse this existing CLB instead of creating one.",
    category="tags",
)
QCLOUD_LOADBALANCER_BACKENDS_LABEL = _tke(
    "qcloud-loadbalancer-backends-label", Str(what="a label selector", sample="role=edge"), default_doc="all nodes",
    doc="Label selector (`k1=v1,k2 in (a,b)`) of the nodes bound as backends.",
    category="backends",
)
SERVICE_EXTENSIVEPARAMETERS = _tke(
    "service.extensiveParameters", JsonObject(), create_only=True,
    doc='Extra CreateLoadBalancer parameters as JSON, e.g. `{"AddressIPVersion":"IPV6"}`. Create-only.',
    category="type",
)
SERVICE_LISTENERPARAMETERS = _tke(
    "service.listenerParameters", JsonObject(),
    doc="Extra listener parameters as JSON.",
    category="listeners",
)
LOADBALANCE_TYPE = _tke(
    "loadbalance-type", Enum(("yunapiv3_forward_clb", "classic", "yunapi_clb")),
    default="yunapiv3_forward_clb",
    doc="CLB type: `yunapiv3_forward_clb` (CLB) or the deprecated classic types.",
    category="type",
)
QCLOUD_LOADBALANCER_INTERNET_CHARGE_TYPE = _tke(
    "qcloud-loadbalancer-internet-charge-type", Enum(("TRAFFIC_POSTPAID_BY_HOUR", "BANDWIDTH_POSTPAID_BY_HOUR")),
    create_only=True, default_doc="the account default",
    doc="Billing mode, used with `qcloud-loadbalancer-internet-max-bandwidth-out`. Create-only.",
    category="type",
)
QCLOUD_LOADBALANCER_INTERNET_MAX_BANDWIDTH_OUT = _tke(
    "qcloud-loadbalancer-internet-max-bandwidth-out", Int(1, 2048, unit="Mbps"), create_only=True,
    doc="Outbound bandwidth cap in Mbps (TKE docs: 1-2048; the Kubernetes docs say 1-2000). Create-only.",
    category="type",
)
LOCAL_SVC_ONLY_BIND_NODE_WITH_POD = _tke(
    "local-svc-only-bind-node-with-pod", _BOOL, default=False, on_invalid="warn",
    doc='`"true"` with `externalTrafficPolicy: Local` binds only nodes running a pod of the Service.',
    category="backends",
)
DIRECT_ACCESS = _tcloud(
    "direct-access", _BOOL, default=False, on_invalid="warn", doc='`"true"` sends traffic straight to pods.',
    category="backends",
)
TKE_SERVICE_CONFIG = _tcloud(
    "tke-service-config", Str(what="a TkeServiceConfig name", sample="web-config"), doc="TkeServiceConfig resource with extra settings.",
    category="tags",
)
SECURITY_GROUPS = _tcloud(
    "security-groups", List(Str(pattern=r"sg-[0-9a-z]+", what="a security-group ID (sg-...)", sample="sg-0abc123")),
    doc="Security groups bound to the CLB.",
    category="security",
)
PASS_TO_TARGET = _tcloud(
    "pass-to-target", _BOOL, default=False, on_invalid="warn",
    doc='`"true"`: the CLB security groups pass traffic to the backends.',
    category="client-ip",
)
SPECIFY_PROTOCOL = _tcloud(
    "specify-protocol", JsonObject(), doc="Per-port listener protocols as JSON.",
    category="listeners",
)
LOCAL_SVC_WEIGHTED_BALANCE = _tcloud(
    "local-svc-weighted-balance", _BOOL, default=False, on_invalid="warn",
    doc='`"true"` weights nodes by their pods with `externalTrafficPolicy: Local`.',
    category="backends",
)
ENABLE_GRACE_SHUTDOWN = _tcloud(
    "enable-grace-shutdown", _BOOL, default=False, on_invalid="warn",
    doc='`"true"` drains terminating pods (weight 0) instead of removing them.',
    category="timeouts",
)
