"""Provider-neutral annotations: the legacy core keys every provider reads."""

from __future__ import annotations

from ccm.annotations.registry import ALL, declare
from ccm.annotations.types import Cidr, List

LOAD_BALANCER_SOURCE_RANGES = declare(
    "service.beta.kubernetes.io/load-balancer-source-ranges",
    List(Cidr(), blank_is_empty=True),
    providers={ALL}, cloud="common", default=(), default_doc="`0.0.0.0/0`",
    doc="Legacy form of `spec.loadBalancerSourceRanges`, used only when the spec field is empty: comma-separated "
        "CIDRs, each trimmed and normalised; one bad entry is an error (never a fallback to 0.0.0.0/0). A blank "
        "value means the default, as upstream `GetLoadBalancerSourceRanges`; Azure treats it like "
        "`azure-allowed-ip-ranges`.",
)
#: the short name adapters may prefer
SOURCE_RANGES = LOAD_BALANCER_SOURCE_RANGES
