"""The annotation registry: every annotation ccm knows, declared once, and how to read them.

Cloud modules (``aws.py``, ``gcp.py``, ...) declare :class:`Annotation` instances with
:func:`declare`; parsing, validation, the generated docs and ``ccm plan`` all read these
declarations, so no other module spells an annotation key. The cloud modules are imported
lazily on the first query, which keeps this module importable from them without a cycle.

Parsing collects every problem instead of stopping at the first (like apiserver
validation): ``errors`` block the load balancer, ``warnings`` are values upstream would
silently replace by a default (ccm does the same but says so).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from ccm.annotations.types import AnnotationValueError, Parser

#: ``providers`` value meaning "every provider" (the legacy core annotations)
ALL = "*"
PROVIDERS = ("aws", "gcp", "azure", "openstack", "ibm", "baidu", "tencent", "alibaba")
#: the modules that declare annotations, imported on first use
_MODULES = ("common", "aws", "gcp", "azure", "openstack", "ibm", "baidu", "tencent", "alibaba")
#: legend of :attr:`Annotation.upstream`, as in the reference notes
UPSTREAM = {
    "UP": "implemented by the upstream cloud-provider of that cloud",
    "LBC": "implemented only by the AWS Load Balancer Controller",
    "GKE": "implemented only by GKE's L4 controllers (ingress-gce)",
    "DOC": "documented by the vendor for a closed-source controller",
}

#: placeholders allowed in templated keys (Azure ``port_{port}_...``) and what they match
PLACEHOLDERS = {"port": r"[1-9][0-9]{0,4}", "protocol": r"[A-Z][A-Z_]*"}
#: what an annotation configures: the sections of docs/annotations.md, in this order
CATEGORIES = {
    "type": "Load-balancer type and scheme",
    "addresses": "Addresses, subnets and networks",
    "listeners": "Listeners, protocols and TLS",
    "health": "Health checks",
    "backends": "Backends and traffic distribution",
    "client-ip": "Client IP and PROXY protocol",
    "timeouts": "Draining, timeouts and connections",
    "security": "Source ranges and security groups",
    "logging": "Access logs",
    "tags": "Tags and names",
    "private-link": "Private Link Service",
    "other": "Other",
}
#: each cloud's load-balancer types, as the ``lb_types`` of its declarations name them
LOAD_BALANCER_TYPES = {
    "aws": ("CLB", "NLB"),
    "gcp": ("external", "internal"),
    "azure": ("public", "internal"),
    # public: a floating IP on the VIP; internal: the VIP alone
    "openstack": ("public", "internal"),
}

__all__ = [
    "ALL",
    "PROVIDERS",
    "Annotation",
    "AnnotationError",
    "AnnotationValueError",
    "AnnotationWarning",
    "CrossCheck",
    "ParsedAnnotations",
    "all_annotations",
    "create_only_changes",
    "cross_check",
    "cross_checks",
    "declare",
    "declarer",
    "for_provider",
    "get",
    "load",
    "parse",
    "render_markdown",
]


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One annotation: the single source of its key, type, default, scope and docs."""

    #: the canonical key, e.g. ``service.beta.kubernetes.io/aws-load-balancer-type``
    key: str
    #: turns the raw string into the typed value (see :mod:`ccm.annotations.types`)
    parser: Parser
    #: the value adapters get when the annotation is absent (or invalid under "warn")
    default: Any
    #: provider names it applies to; ``{"*"}`` means every provider
    providers: frozenset[str]
    #: the cloud cannot change it in place; changing it needs a new load balancer
    create_only: bool
    #: one or two sentences: effect, accepted values, default, where we differ from upstream
    doc: str
    #: the ccm version that introduced it
    since: str = "0.1"
    #: who implements it upstream: a key of :data:`UPSTREAM`
    upstream: str = "UP"
    #: deprecated keys with the same meaning; the canonical key wins when both are set
    aliases: tuple[str, ...] = ()
    #: on a value that does not parse: "error" blocks the Service, "warn" uses the default
    on_invalid: Literal["error", "warn"] = "error"
    #: the docs section it is listed under (the declaring cloud, or "common")
    cloud: str = ""
    #: how the docs show the default when it depends on other settings
    default_doc: str = ""
    #: what it configures (a key of :data:`CATEGORIES`), its docs section
    category: str = "other"
    #: a value it accepts, for the docs ("" takes the parser's example)
    example: str = ""
    #: the load-balancer types of its cloud it applies to (:data:`LOAD_BALANCER_TYPES`); () is all
    lb_types: tuple[str, ...] = ()

    #: for a templated key (``{port}`` placeholders): the regular expression of real keys
    pattern: re.Pattern[str] | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.upstream not in UPSTREAM:
            raise ValueError(f"{self.key}: upstream must be one of {', '.join(UPSTREAM)}")
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.key}: category must be one of {', '.join(CATEGORIES)}")
        if not self.example:
            object.__setattr__(self, "example", self.parser.example)
        if not self.cloud:
            object.__setattr__(self, "cloud", "common" if ALL in self.providers else min(self.providers))
        if "{" in self.key:
            regex = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m[1]}>{PLACEHOLDERS[m[1]]})", re.escape(self.key))
            object.__setattr__(self, "pattern", re.compile(regex))
            if self.create_only or self.aliases:
                raise ValueError(f"{self.key}: a templated key cannot be create-only or have aliases")

    def __hash__(self) -> int:
        # keys are unique in the registry, and defaults such as MappingProxyType are unhashable
        return hash(self.key)

    def key_for(self, **parts: object) -> str:
        """The real key of a templated declaration, e.g. ``key_for(port=80)``."""
        return self.key.format(**parts)

    def matches(self, key: str) -> bool:
        """Whether ``key`` is this annotation (the key itself, an alias or a template instance)."""
        if self.pattern is not None:
            return self.pattern.fullmatch(key) is not None
        return key == self.key or key in self.aliases

    @property
    def type(self) -> Parser:
        """The parser under the name docs/architecture.md uses."""
        return self.parser

    def parse(self, raw: str) -> Any:
        """The typed value of ``raw``; raises :class:`AnnotationValueError`."""
        return self.parser(raw)

    def applies_to(self, provider: str) -> bool:
        return ALL in self.providers or provider in self.providers


@dataclasses.dataclass(frozen=True)
class _Finding:
    """One annotation (the key as written, its raw value) and what is wrong with it."""

    key: str
    value: str
    message: str

    def __str__(self) -> str:
        return f'annotation {self.key}="{self.value}" {self.message}'


class AnnotationError(_Finding):
    """A value that does not parse, or a combination a cross-field check rejects."""

    def __str__(self) -> str:
        return f'annotation {self.key}="{self.value}" is invalid: {self.message}'


class AnnotationWarning(_Finding):
    """Something ccm tolerates as upstream does but the user should hear about (a Warning event)."""


@dataclasses.dataclass(frozen=True)
class ParsedAnnotations:
    """The outcome of :func:`parse`; ``values`` holds only present, valid, canonical keys."""

    values: Mapping[str, Any]
    errors: tuple[AnnotationError, ...] = ()
    warnings: tuple[AnnotationWarning, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def get(self, annotation: Annotation) -> Any:
        """The parsed value, or the declared default when unset."""
        return self.values.get(annotation.key, annotation.default)


@dataclasses.dataclass(frozen=True)
class CrossCheck:
    """A rule between annotations, checked after each one parsed on its own.

    ``check`` gets a getter returning the parsed value or, when absent, the default, and
    returns an error message or None. With ``when_all_set`` it runs only when every key is
    set (a rule whose defaults depend on other settings). The error is reported on the
    first key and every involved key is left out of the values.
    """

    keys: tuple[str, ...]
    check: Callable[[Callable[[str], Any]], str | None]
    doc: str
    when_all_set: bool = True
    #: the same rule in CEL for ``ccm admission-policy``: ``{0}``, ``{1}``... stand for the typed
    #: values of ``keys`` (the default when absent); "" leaves the rule to the controller
    cel: str = ""


_lock = threading.RLock()
_loaded = False
_by_key: dict[str, Annotation] = {}
_by_alias: dict[str, Annotation] = {}
_templates: list[Annotation] = []
#: sorted declarations per provider ("" = all), rebuilt after a declaration; parse runs per Service
_sorted: dict[str, tuple[Annotation, ...]] = {}
_checks: list[CrossCheck] = []


def declare(
    key: str,
    parser: Parser,
    *,
    default: Any = None,
    providers: Iterable[str],
    doc: str,
    create_only: bool = False,
    upstream: str = "UP",
    aliases: Iterable[str] = (),
    on_invalid: Literal["error", "warn"] = "error",
    cloud: str = "",
    default_doc: str = "",
    since: str = "0.1",
    category: str = "other",
    example: str = "",
    lb_types: Iterable[str] = (),
) -> Annotation:
    """Create and register an annotation; a key or alias declared twice is a programming error."""
    ann = Annotation(
        key=key, parser=parser, default=default, providers=frozenset(providers),
        create_only=create_only, doc=doc, since=since, upstream=upstream,
        aliases=tuple(aliases), on_invalid=on_invalid, cloud=cloud, default_doc=default_doc,
        category=category, example=example, lb_types=tuple(lb_types),
    )
    with _lock:
        for k in (ann.key, *ann.aliases):
            if k in _by_key or k in _by_alias:
                raise ValueError(f"annotation {k} is declared twice")
        _by_key[ann.key] = ann
        for alias in ann.aliases:
            _by_alias[alias] = ann
        if ann.pattern is not None:
            _templates.append(ann)
        _sorted.clear()
    return ann


def declarer(prefix: str, cloud: str, providers: Iterable[str] = (), upstream: str = "UP") -> Callable[..., Annotation]:
    """A :func:`declare` for one cloud's key prefix: ``declarer(p, "aws")("type", ...)``.

    ``providers`` defaults to ``{cloud}``; keyword arguments override these defaults.
    """
    base = {"providers": frozenset(providers) or frozenset({cloud}), "upstream": upstream, "cloud": cloud}

    def declare_suffix(suffix: str, parser: Parser, **kwargs: Any) -> Annotation:
        return declare(prefix + suffix, parser, **{**base, **kwargs})

    return declare_suffix


def cross_check(
    *annotations: Annotation,
    check: Callable[[Callable[[str], Any]], str | None],
    doc: str,
    when_all_set: bool = True,
    cel: str = "",
) -> CrossCheck:
    """Register a rule between annotations (e.g. AWS health-check timeout < interval)."""
    rule = CrossCheck(tuple(a.key for a in annotations), check, doc, when_all_set, cel)
    with _lock:
        _checks.append(rule)
    return rule


def load() -> None:
    """Import every cloud's declarations (done on the first query; cheap afterwards)."""
    _load()


def _load() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            for name in _MODULES:
                importlib.import_module(f"ccm.annotations.{name}")
            _loaded = True


def _sort_key(ann: Annotation) -> tuple[int, str, str]:
    return (0 if ann.cloud == "common" else 1, ann.cloud, ann.key)


def _declared(provider: str = "") -> tuple[Annotation, ...]:
    _load()
    cached = _sorted.get(provider)
    if cached is None:
        with _lock:
            everything = sorted(_by_key.values(), key=_sort_key)
            cached = tuple(a for a in everything if not provider or a.applies_to(provider))
            _sorted[provider] = cached
    return cached


def all_annotations() -> list[Annotation]:
    """Every declaration, common ones first, then by cloud and key."""
    return list(_declared())


def get(key: str) -> Annotation | None:
    """The declaration of a canonical key, one of its aliases, or a templated key's instance."""
    _load()
    found = _by_key.get(key) or _by_alias.get(key)
    if found is None:
        found = next((t for t in _templates if t.matches(key)), None)
    return found


def for_provider(provider: str) -> list[Annotation]:
    """The declarations that apply to ``provider`` (including the ``"*"`` ones)."""
    return list(_declared(provider))


def cross_checks() -> list[CrossCheck]:
    _load()
    return list(_checks)


def _raw_value(ann: Annotation, annotations: Mapping[str, str]) -> tuple[str, str] | None:
    """(key as written, raw value) of the canonical key or else the first alias present."""
    for k in (ann.key, *ann.aliases):
        if k in annotations:
            return k, annotations[k]
    return None


def describe_default(ann: Annotation) -> str:
    if ann.default_doc:
        return ann.default_doc
    return "unset" if ann.default is None else repr(ann.default)


class _Outcome:
    """What :func:`parse` accumulates for one Service."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.raws: dict[str, str] = {}
        self.errors: list[AnnotationError] = []
        self.warnings: list[AnnotationWarning] = []

    def parse_one(self, ann: Annotation, key: str, written: str, raw: str) -> None:
        """Parse one raw value into ``values[key]`` or record why not, under the key as written."""
        try:
            self.values[key] = ann.parse(raw)
            self.raws[key] = raw
        except AnnotationValueError as exc:
            if ann.on_invalid == "error":
                self.errors.append(AnnotationError(written, raw, exc.message))
            else:
                self.warnings.append(AnnotationWarning(
                    written, raw,
                    f"is invalid: {exc.message}; using the default ({describe_default(ann)}) as upstream does"))


def parse(provider: str, annotations: Mapping[str, str]) -> ParsedAnnotations:
    """Parse and validate the annotations of one Service for ``provider``.

    Keys of other providers are ignored (manifests are often multi-cloud); an unknown key
    that is a near miss of a declared one gets a warning, as a typo silently does nothing.
    """
    out = _Outcome()
    for ann in _declared(provider):
        if ann.pattern is not None:
            for key, raw in annotations.items():
                if ann.matches(key):
                    out.parse_one(ann, key, key, raw)
            continue
        found = _raw_value(ann, annotations)
        if found is None:
            continue
        written, raw = found
        if written != ann.key:
            out.warnings.append(AnnotationWarning(written, raw, f"is deprecated; use {ann.key}"))
        for alias in ann.aliases:
            if alias != written and alias in annotations and annotations[alias] != raw:
                out.warnings.append(AnnotationWarning(alias, annotations[alias], f"is ignored because {written} is set"))
        out.parse_one(ann, ann.key, written, raw)
    out.errors.extend(_run_cross_checks(provider, out.values, out.raws))
    out.warnings.extend(_near_misses(provider, annotations))
    return ParsedAnnotations(MappingProxyType(out.values), tuple(out.errors), tuple(out.warnings))


def _run_cross_checks(provider: str, values: dict[str, Any], raws: dict[str, str]) -> list[AnnotationError]:
    errors = []
    for rule in cross_checks():
        anns = [_by_key[k] for k in rule.keys]
        if not all(a.applies_to(provider) for a in anns):
            continue
        present = [a.key in values for a in anns]
        if not any(present) or (rule.when_all_set and not all(present)):
            continue

        def value_of(key: str) -> Any:
            return values.get(key, _by_key[key].default)

        message = rule.check(value_of)
        if message is not None:
            first = next(k for k in rule.keys if k in values)
            # the error is reported on one key; name the others the Service sets too, with their values
            others = [f'{k}="{raws[k]}"' for k in rule.keys if k != first and k in raws and k not in message]
            if others:
                message += f" (with {', '.join(others)})"
            errors.append(AnnotationError(first, raws[first], message))
            for k in rule.keys:
                values.pop(k, None)
    return errors


def _near_misses(provider: str, annotations: Mapping[str, str]) -> list[AnnotationWarning]:
    known = [k for a in _declared(provider) if a.pattern is None for k in (a.key, *a.aliases)]
    domains = {k.partition("/")[0] for k in known}
    out = []
    for key in annotations:
        if key.partition("/")[0] not in domains or get(key) is not None:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.9)
        if close:
            out.append(AnnotationWarning(key, annotations[key], f"is not a known annotation; did you mean {close[0]}?"))
    return out


def _effective(ann: Annotation, annotations: Mapping[str, str]) -> Any:
    found = _raw_value(ann, annotations)
    if found is None:
        return ann.default
    try:
        return ann.parse(found[1])
    except AnnotationValueError:
        # "warn" values behave as the default; an erroring value is its own (invalid) state
        return ann.default if ann.on_invalid == "warn" else ("<invalid>", found[1])


def create_only_changes(provider: str, old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    """Canonical keys of create-only annotations whose effective value differs.

    Compared after parsing with absent meaning the default, so ``internal: "false"`` added
    to a public load balancer, or ``true`` rewritten as ``True``, is not a change.
    """
    return tuple(
        a.key for a in _declared(provider)
        if a.create_only and _effective(a, old) != _effective(a, new)
    )


def render_markdown(support: Mapping[str, Any] | None = None) -> str:
    """The generated ``docs/annotations.md``; ``support`` maps each provider to its AnnotationSupport
    (``ccm.reference`` collects them from the providers)."""
    from ccm.annotations.docs import render

    return render(all_annotations(), cross_checks(), support)
