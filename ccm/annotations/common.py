"""Provider-neutral annotations and the notions every provider and the node proxy share.

* ``LOAD_BALANCER_SOURCE_RANGES`` and :func:`resolve_source_ranges`: upstream
  ``GetLoadBalancerSourceRanges`` (the spec field, else the legacy annotation, else
  ``0.0.0.0/0``), one resolver for the service controller and the node proxy.
* The PROXY-protocol notion: "the load balancer sends a PROXY header to the node ports". Each
  cloud module maps its own key to it with :func:`maps_to_proxy_protocol` (AWS:
  ``aws-load-balancer-proxy-protocol: "*"``); the node proxy and the local provider ask
  :func:`proxy_protocol_requested` and never import a cloud's annotations.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ccm.annotations import registry
from ccm.annotations.registry import ALL, Annotation, declare
from ccm.annotations.types import AnnotationValueError, Cidr, List, go_trim

LOAD_BALANCER_SOURCE_RANGES = declare(
    "service.beta.kubernetes.io/load-balancer-source-ranges",
    List(Cidr(), blank_is_empty=True),
    providers={ALL}, cloud="common", default=(), default_doc="`0.0.0.0/0`",
    doc="Legacy form of `spec.loadBalancerSourceRanges`, used only when the spec field is empty: comma-separated "
        "CIDRs, each trimmed and normalised; one bad entry is an error (never a fallback to 0.0.0.0/0). A blank "
        "value means the default, as upstream `GetLoadBalancerSourceRanges`; Azure treats it like "
        "`azure-allowed-ip-ranges`.",
    category="security",
)
#: the short name adapters may prefer
SOURCE_RANGES = LOAD_BALANCER_SOURCE_RANGES

# --------------------------------------------------------------------------------------------
# Source ranges
# --------------------------------------------------------------------------------------------

#: upstream ``defaultLoadBalancerSourceRanges``
DEFAULT_SOURCE_RANGES = ("0.0.0.0/0",)
_CIDR = Cidr()


class InvalidSourceRanges(ValueError):
    """The spec field or the legacy annotation holds something that is not a CIDR.

    The message is upstream's, word for word; ``reason`` is the Warning event reason.
    """

    reason = "InvalidLoadBalancerSourceRanges"


@dataclasses.dataclass(frozen=True)
class SourceRanges:
    """The resolved ranges: normalised CIDR strings, and whether the Service set them."""

    cidrs: tuple[str, ...]
    #: False when nothing was set and upstream's default (``0.0.0.0/0``) applies
    explicit: bool


def _go_list(items: Sequence[Any]) -> str:
    """How Go's ``%v`` prints a ``[]string`` (upstream's messages embed it)."""
    return "[" + " ".join(str(i) for i in items) + "]"


def _cidrs(items: Sequence[Any]) -> tuple[str, ...]:
    """Each item trimmed and parsed like ``netutils.ParseCIDRSloppy``; duplicates dropped in order."""
    out: list[str] = []
    for item in items:
        text = go_trim(str(item))
        try:
            cidr = _CIDR(text)
        except AnnotationValueError:
            raise ValueError(f"invalid CIDR address: {text}") from None
        if cidr not in out:
            out.append(cidr)
    return tuple(out)


def resolve_source_ranges(spec_ranges: Sequence[Any] | None, annotation: str | None) -> SourceRanges:
    """Upstream ``GetLoadBalancerSourceRanges``: the spec field wins over the legacy annotation.

    ``annotation`` is the raw legacy value (None when absent). Unset, or a blank annotation,
    means ``0.0.0.0/0`` with ``explicit=False``. Raises :class:`InvalidSourceRanges` with
    upstream's message. Callers that enforce ranges themselves (the node proxy) treat
    ``explicit=False`` as "allow everyone" and add what they must trust on top.
    """
    if spec_ranges:
        try:
            return SourceRanges(_cidrs(spec_ranges), True)
        except ValueError as exc:
            raise InvalidSourceRanges(
                f"service.Spec.LoadBalancerSourceRanges: {_go_list(spec_ranges)} is not valid. Expecting a list "
                f"of IP ranges. For example, 10.0.0.0/24. Error msg: {exc}") from None
    value = go_trim(annotation or "")
    if not value:
        return SourceRanges(DEFAULT_SOURCE_RANGES, False)
    try:
        return SourceRanges(_cidrs(value.split(",")), True)
    except ValueError:
        raise InvalidSourceRanges(
            f"{LOAD_BALANCER_SOURCE_RANGES.key}: {value} is not valid. Expecting a comma-separated list of "
            "source IP ranges. For example, 10.0.0.0/24,192.168.2.0/24") from None


# --------------------------------------------------------------------------------------------
# PROXY protocol towards the nodes
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProxyProtocolKey:
    """One cloud's annotation that, with a value ``enabled`` accepts, asks for PROXY headers."""

    annotation: Annotation
    enabled: Callable[[Any], bool]


_proxy_lock = threading.Lock()
_proxy_keys: list[ProxyProtocolKey] = []


def maps_to_proxy_protocol(annotation: Annotation, enabled: Callable[[Any], bool]) -> Annotation:
    """Declare that ``annotation`` (with a typed value ``enabled`` accepts) means PROXY to the nodes.

    Called by the cloud module that declares the key, so the mapping lives with the cloud.
    """
    with _proxy_lock:
        _proxy_keys.append(ProxyProtocolKey(annotation, enabled))
    return annotation


def proxy_protocol_keys() -> tuple[ProxyProtocolKey, ...]:
    registry.load()  # every cloud module has registered its mapping
    with _proxy_lock:
        return tuple(_proxy_keys)


def proxy_protocol_requested(values: Mapping[str, Any]) -> bool:
    """From validated, typed values (``LoadBalancerRequest.annotations``): is PROXY asked for?"""
    return any(k.annotation.key in values and k.enabled(values[k.annotation.key]) for k in proxy_protocol_keys())


def proxy_protocol_in(annotations: Mapping[str, str]) -> bool:
    """From a Service's raw annotations; a ``ValueError`` names the annotation and its value."""
    for k in proxy_protocol_keys():
        raw = annotations.get(k.annotation.key)
        if raw is None:
            continue
        try:
            value = k.annotation.parse(raw)
        except AnnotationValueError as exc:
            raise ValueError(f'annotation {k.annotation.key}="{raw}" is invalid: {exc.message}') from None
        if k.enabled(value):
            return True
    return False
