"""Baidu CCE annotations; vendor-documented only (closed-source controller)."""

from __future__ import annotations

from ccm.annotations.registry import declarer
from ccm.annotations.types import TrueFalse

LOAD_BALANCER_INTERNAL_VPC = declarer("service.beta.kubernetes.io/cce-", "baidu", upstream="DOC")(
    "load-balancer-internal-vpc", TrueFalse(), default=False, on_invalid="warn",
    doc='`"true"` creates an internal BLB in the cluster VPC instead of a public one.',
    category="type",
)
