"""Which declared annotations an implementation honours, and the check that refuses the rest.

The registry declares what an annotation *means*; an adapter declares, with one
:class:`AnnotationSupport`, which of its provider's annotations it *implements* (and, where
only part of the values or keys are built, which). The service controller runs
:meth:`AnnotationSupport.check` before any cloud call: an annotation present on the Service
that the adapter cannot honour is refused with a Warning event naming key, value and what is
supported, so nothing is ever built that differs from what the user asked. The generated
``docs/annotations.md`` renders the same declarations (implemented vs recognised only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ccm.annotations import registry
from ccm.annotations.registry import Annotation


def _text(value: Any) -> str:
    """A typed value as the user writes it (``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _quoted(items: Iterable[Any]) -> str:
    return ", ".join(f"`{_text(i)}`" for i in sorted(items, key=_text))


@dataclasses.dataclass(frozen=True)
class Honoured:
    """How much of one annotation an adapter builds.

    ``values``: only these typed values (as the registry parses them: ``True``, ``"nlb"``) are
    honoured; None means every value the registry accepts. ``keys``: for ``k=v`` annotations, only these keys. ``note``
    says what the restriction means, for the docs and the event.
    """

    values: frozenset[Any] | None = None
    keys: frozenset[str] | None = None
    note: str = ""

    def refusal(self, value: Any) -> str | None:
        """Why ``value`` (typed, as parsed) cannot be honoured, or None when it can."""
        if self.values is not None and value not in self.values:
            return "supported values: " + ", ".join(sorted(map(_text, self.values))) + (
                f" ({self.note})" if self.note else "")
        if self.keys is not None and isinstance(value, Mapping):
            extra = sorted(set(value) - self.keys)
            if extra:
                return (f"key {', '.join(extra)} is not implemented; supported keys: {', '.join(sorted(self.keys))}"
                        + (f" ({self.note})" if self.note else ""))
        return None

    def describe(self) -> str:
        parts = []
        if self.values is not None:
            parts.append(_quoted(self.values) + " only")
        if self.keys is not None:
            parts.append("keys " + _quoted(self.keys))
        if self.note:
            parts.append(self.note)
        return "; ".join(parts) or "yes"


#: every value and key
FULLY = Honoured()


@dataclasses.dataclass(frozen=True)
class Unsupported:
    """An annotation on a Service that the adapter does not build as written."""

    key: str  # as written on the Service
    value: str  # the raw value
    provider: str
    supported: str  # what the adapter does support, or that it implements none of it

    def __str__(self) -> str:
        return f'annotation {self.key}="{self.value}" is not supported by the {self.provider} provider: {self.supported}'


@dataclasses.dataclass(frozen=True)
class AnnotationSupport:
    """One adapter's declaration: the annotations it implements, keyed by declared key.

    ``handed_off`` lists values that hand the Service to another controller (AWS
    ``aws-load-balancer-type: external``): the adapter answers ImplementedElsewhere, so the
    check does not speak for keys that other controller implements. ``everything`` is for
    test doubles that accept any declared annotation.
    """

    honoured: Mapping[str, Honoured] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    handed_off: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    everything: bool = False

    @classmethod
    def of(cls, honoured: Mapping[Annotation, Honoured] | Iterable[Annotation],
           handed_off: Mapping[Annotation, Iterable[str]] | None = None) -> AnnotationSupport:
        """Build from declarations: a mapping to :class:`Honoured`, or an iterable meaning fully."""
        pairs = honoured.items() if isinstance(honoured, Mapping) else ((a, FULLY) for a in honoured)
        return cls(
            honoured=MappingProxyType({a.key: h for a, h in pairs}),
            handed_off=MappingProxyType({a.key: frozenset(v) for a, v in (handed_off or {}).items()}),
        )

    def of_annotation(self, annotation: Annotation) -> Honoured | None:
        """What is honoured of ``annotation``; None when it is recognised only."""
        if self.everything:
            return FULLY
        return self.honoured.get(annotation.key)

    def is_handed_off(self, values: Mapping[str, Any]) -> bool:
        return any(str(values.get(k)) in vs for k, vs in self.handed_off.items() if k in values)

    def check(self, provider: str, values: Mapping[str, Any], raw: Mapping[str, str]) -> tuple[Unsupported, ...]:
        """The annotations in ``values`` (parsed, canonical keys) that this adapter cannot honour.

        ``raw`` is the Service's annotations, for the messages (the key as written, the value).
        """
        if self.everything or self.is_handed_off(values):
            return ()
        out = []
        for key, value in values.items():
            decl = registry.get(key)
            if decl is None:
                continue
            written, raw_value = _as_written(decl, key, raw)
            honoured = self.honoured.get(decl.key)
            if honoured is None:
                out.append(Unsupported(written, raw_value, provider,
                                       "recognised but not implemented by this adapter; remove it"))
                continue
            reason = honoured.refusal(value)
            if reason is not None:
                out.append(Unsupported(written, raw_value, provider, reason))
        return tuple(out)


def _as_written(decl: Annotation, key: str, raw: Mapping[str, str]) -> tuple[str, str]:
    for k in (key, *decl.aliases):
        if k in raw:
            return k, raw[k]
    return key, ""


#: the support of an adapter that builds nothing its provider's annotations ask for
NOTHING = AnnotationSupport()
#: the support of a test double that accepts every declared annotation
EVERYTHING = AnnotationSupport(everything=True)
