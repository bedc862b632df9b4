"""A Service's annotations and spec checked before any cloud call: one pure function, two callers.

The service controller turns the outcome into Warning events and a failed sync
(:meth:`ServiceSyncer.strict_request`); ``ccm plan`` prints the same findings and exits non-zero.
Both get them from :func:`validate`, so a message on the command line is word for word the
event the controller would emit for the same Service.

The checks run in the controller's order and stop at the first stage that fails: values that do
not parse (``InvalidAnnotation``), then annotations the adapter does not build as written
(``UnsupportedAnnotation``), then the spec (``InvalidLoadBalancerSourceRanges``). Values upstream
tolerates come back as ``AnnotationWarning`` findings whatever the outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ccm.annotations import registry
from ccm.annotations.registry import ParsedAnnotations
from ccm.annotations.support import AnnotationSupport
from ccm.controllers.service import events as ev
from ccm.controllers.service.request import InvalidServiceError, build_request
from providers.port import LoadBalancerRequest


@dataclasses.dataclass(frozen=True)
class Finding:
    """One event the controller would record on the Service (type, reason, message)."""

    type: str
    reason: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "reason": self.reason, "message": self.message}


@dataclasses.dataclass(frozen=True)
class Validated:
    """The outcome: a request (no nodes yet) when nothing blocks the Service, else the errors."""

    parsed: ParsedAnnotations
    request: LoadBalancerRequest | None
    #: values ccm tolerates as upstream does, deprecated keys, near misses (Warning events)
    warnings: tuple[Finding, ...] = ()
    #: what blocks the Service (Warning events; no cloud call)
    errors: tuple[Finding, ...] = ()
    #: the sync error's message when ``errors`` is not empty
    summary: str = ""

    @property
    def ok(self) -> bool:
        return self.request is not None


def annotations_of(svc: Mapping[str, Any]) -> Mapping[str, str]:
    return (svc.get("metadata") or {}).get("annotations") or {}


def validate(
    svc: Mapping[str, Any],
    *,
    annotation_provider: str,
    provider: str,
    support: AnnotationSupport,
    cluster_name: str,
) -> Validated:
    """Parse and check ``svc`` for ``provider`` (whose annotations are ``annotation_provider``'s)."""
    raw = annotations_of(svc)
    parsed = registry.parse(annotation_provider, raw)
    warnings = tuple(Finding(ev.WARNING, ev.ANNOTATION_WARNING, str(w)) for w in parsed.warnings)
    if parsed.errors:
        # Improvement: upstream adapters fail late (or silently default); we refuse before
        # touching the cloud, leave the load balancer and status as they are, and retry.
        return Validated(parsed, None, warnings,
                         tuple(Finding(ev.WARNING, ev.INVALID_ANNOTATION, str(e)) for e in parsed.errors),
                         "invalid annotations: " + "; ".join(map(str, parsed.errors)))
    unsupported = support.check(provider, parsed.values, raw)
    if unsupported:
        # Every declared annotation takes effect or is refused: nothing is built that differs
        # from what the Service asks, exactly like an invalid value.
        return Validated(parsed, None, warnings,
                         tuple(Finding(ev.WARNING, ev.UNSUPPORTED_ANNOTATION, str(u)) for u in unsupported),
                         "unsupported annotations: " + "; ".join(map(str, unsupported)))
    try:
        request = build_request(svc, (), parsed.values, cluster_name=cluster_name)
    except InvalidServiceError as exc:
        return Validated(parsed, None, warnings, (Finding(ev.WARNING, exc.reason, str(exc)),), str(exc))
    return Validated(parsed, request, warnings)
