"""GCP annotations (``networking.gke.io/``, ``cloud.google.com/``).

Semantics follow kubernetes/cloud-provider-gcp (``gce_annotations.go``): booleans are the
exact string "true" and an unknown load-balancer type means external, silently upstream; ccm
keeps those results but emits a warning. Keys marked GKE are implemented only by GKE's L4
controllers (ingress-gce) and are parsed and documented here so they are not mistaken for
typos. Constants are named from the key without its domain.
"""

from __future__ import annotations

from ccm.annotations.registry import declarer
from ccm.annotations.types import Enum, GoBool, JsonObject, Str, TrueFalse

GKE = "networking.gke.io/"
CLOUD = "cloud.google.com/"
_gke = declarer(GKE, "gcp")
_cloud = declarer(CLOUD, "gcp")
_gke_only = declarer(GKE, "gcp", upstream="GKE")
_cloud_gke_only = declarer(CLOUD, "gcp", upstream="GKE")

#: GCE resource names (RFC 1035: lower-case letter first, at most 63 characters)
_GCE_NAME = Str(pattern=r"[a-z]([-a-z0-9]*[a-z0-9])?", what="a GCE resource name", sample="lb-subnet", max_len=63)
_TRUE_ONLY = TrueFalse()

LOAD_BALANCER_TYPE = _gke(
    "load-balancer-type", Enum(("Internal",), deprecated=(("internal", "Internal"),)),
    aliases=(CLOUD + "load-balancer-type",), on_invalid="warn", default_doc="external",
    doc="`Internal` builds an internal passthrough load balancer (ILB), absent an external one. Changing it "
        "rebuilds the load balancer as the other type, as upstream (the IP changes; a `LoadBalancerRebuilt` "
        "warning says so), so an internal one is never left exposed; an unknown value means external, as "
        "upstream, with a warning.",
    category="type",
)
INTERNAL_LOAD_BALANCER_ALLOW_GLOBAL_ACCESS = _gke(
    "internal-load-balancer-allow-global-access", _TRUE_ONLY, default=False, on_invalid="warn",
    doc='ILB forwarding rule `allowGlobalAccess`: clients from every region may connect. Only `"true"` '
        "enables it (anything else is false upstream; ccm warns).",
    category="addresses", lb_types=("internal",),
)
INTERNAL_LOAD_BALANCER_SUBNET = _gke(
    "internal-load-balancer-subnet", _GCE_NAME, default_doc="the cluster subnet",
    doc="Subnet (in the cluster's region and network) of the ILB address. A change rebuilds the forwarding rule "
        "in the new subnet, as upstream (the IP changes).",
    category="addresses", lb_types=("internal",),
)
NETWORK_TIER = _cloud(
    "network-tier", Enum(("Standard", "Premium")), default_doc="project default (Premium)",
    doc="Network tier of an external load balancer's address and forwarding rule; any other value is an error "
        "as upstream. A change deletes and recreates both, as upstream (the IP changes).",
    category="type", lb_types=("external",),
)
LOAD_BALANCER_BACKEND_SHARE = declarer("alpha.cloud.google.com/", "gcp")(
    "load-balancer-backend-share", _TRUE_ONLY, default=False, on_invalid="warn",
    aliases=(CLOUD + "load-balancer-backend-share",),
    doc='`"true"` lets an ILB with `externalTrafficPolicy: Cluster` use a backend service shared by the '
        "cluster (alpha).",
    category="type", lb_types=("internal",),
)
L4_RBS = _cloud(
    "l4-rbs", Enum(("enabled",)), on_invalid="warn", default_doc="off",
    doc="`enabled` hands the Service to GKE's backend-service-based external load balancer; ccm then steps "
        "aside (ImplementedElsewhere), as upstream.",
    category="type", lb_types=("external",),
)
TARGET_POOL = _gke(
    "target-pool", _GCE_NAME,
    doc="Written by the controller (not read): the target pool of an external load balancer.",
    category="backends", lb_types=("external",),
)
BACKEND_SERVICE = _gke(
    "backend-service", _GCE_NAME,
    doc="Written by the controller (not read): the backend service of an internal load balancer.",
    category="backends", lb_types=("internal",),
)

# --- GKE only -------------------------------------------------------------------------------

LOAD_BALANCER_SUBNET = _gke_only(
    "load-balancer-subnet", _GCE_NAME,
    doc="Subnet of the ILB, or of an IPv6 external load balancer (supersedes `internal-load-balancer-subnet`); "
        "a change rebuilds the ILB's forwarding rule there (the IP changes).",
    category="addresses", lb_types=("internal",),
)
WEIGHTED_LOAD_BALANCING = _gke_only(
    "weighted-load-balancing", Enum(("pods-per-node",)), default_doc="off",
    doc="`pods-per-node` weights nodes by their serving pods.",
    category="backends",
)
L4_STRONG_SESSION_AFFINITY = _gke_only(
    "l4-strong-session-affinity", Enum(("enabled",)), default_doc="off",
    doc="`enabled` turns on strong session affinity.",
    category="backends",
)
TRANSPARENT_HEALTH_CHECKER = _gke_only(
    "transparent-health-checker", GoBool(), default=False,
    doc="Health checks reach the pods through the transparent health checker.",
    category="health",
)
NEG = _cloud_gke_only(
    "neg", JsonObject(),
    doc='Network endpoint groups, e.g. `{"ingress": true}`; not used by the L4 controller.',
    category="other",
)
BACKEND_CONFIG = _cloud_gke_only(
    "backend-config", JsonObject(),
    doc="BackendConfig names for Ingress (L7); not used by the L4 controller.",
    category="backends",
)
APP_PROTOCOLS = _cloud_gke_only(
    "app-protocols", JsonObject(),
    doc='Port name to protocol for Ingress (L7), e.g. `{"https": "HTTPS"}`; not used by the L4 controller.',
    category="listeners",
)
