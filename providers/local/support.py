"""The annotations the local cloud honours: source ranges (it enforces them itself) and every key that
maps to the neutral PROXY-protocol notion and is declared for ``local`` (it sends PROXY v2 to the
node ports)."""

from __future__ import annotations

from ccm.annotations import common
from ccm.annotations.support import AnnotationSupport

SUPPORT = AnnotationSupport.of([
    common.LOAD_BALANCER_SOURCE_RANGES,
    *(k.annotation for k in common.proxy_protocol_keys() if k.annotation.applies_to("local")),
])
