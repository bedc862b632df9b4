"""The provider registry: ``--cloud-provider`` names to factories, by module string.

The registry names modules, not classes, so the controller never imports a cloud (and the
import-linter contracts can forbid it to). Each cloud package ``providers.<cloud>`` provides
``create(context) -> CloudProvider`` and a module ``providers.<cloud>.support`` whose
``SUPPORT`` (an :class:`~providers.port.AnnotationSupport`) says which annotations it
implements; both are found from here without constructing the provider (``ccm annotations``
renders them without credentials). ``gcp``, ``azure`` and ``openstack`` are registered
ahead of their packages: adding ``providers/<cloud>/`` is all a new cloud needs.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

from providers.port import AnnotationSupport, CloudProvider, ProviderContext

ProviderFactory = Callable[[ProviderContext], CloudProvider]


@dataclasses.dataclass(frozen=True)
class _Entry:
    #: "module:function" building the provider
    factory: str
    #: "module:attribute" holding its AnnotationSupport
    support: str


def _cloud(name: str) -> _Entry:
    return _Entry(f"providers.{name}:create", f"providers.{name}.support:SUPPORT")


_PROVIDERS: dict[str, _Entry] = {name: _cloud(name) for name in ("fake", "local", "aws", "gcp", "azure", "openstack")}
_FACTORIES: dict[str, ProviderFactory] = {}
#: providers that are test doubles, left out of the generated docs
TEST_DOUBLES = frozenset({"fake"})


def register_provider(name: str, factory: ProviderFactory | str, support: str | None = None) -> None:
    """Add a provider; ``factory`` may be ``"module:function"`` to import lazily.

    ``support`` is ``"module:attribute"`` of its AnnotationSupport (default
    ``providers.<name>.support:SUPPORT``).
    """
    default = _cloud(name)
    if isinstance(factory, str):
        _PROVIDERS[name] = _Entry(factory, support or default.support)
        _FACTORIES.pop(name, None)
    else:
        _FACTORIES[name] = factory
        if support is not None:
            _PROVIDERS[name] = dataclasses.replace(_PROVIDERS.get(name, default), support=support)


def provider_names() -> list[str]:
    return sorted(set(_PROVIDERS) | set(_FACTORIES))


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_provider(name: str, context: ProviderContext) -> CloudProvider:
    if name in _FACTORIES:
        return _FACTORIES[name](context)
    entry = _PROVIDERS.get(name)
    if entry is None:
        raise ValueError(f"unknown cloud provider {name!r}; known: {', '.join(provider_names())}")
    factory: ProviderFactory = _load(entry.factory)  # type: ignore[assignment]
    return factory(context)


def annotation_support(name: str) -> AnnotationSupport | None:
    """The declared support of provider ``name``; None when its package is not there (yet)."""
    entry = _PROVIDERS.get(name)
    if entry is None:
        return None
    try:
        support = _load(entry.support)
    except ModuleNotFoundError as exc:
        if exc.name is not None and entry.support.startswith(exc.name):
            return None  # the cloud's package does not exist (yet)
        raise
    if not isinstance(support, AnnotationSupport):
        raise TypeError(f"{entry.support} is not an AnnotationSupport")
    return support


def supports() -> dict[str, AnnotationSupport | None]:
    """Every registered provider but the test doubles, with its support (None: no package yet)."""
    return {name: annotation_support(name) for name in provider_names() if name not in TEST_DOUBLES}
