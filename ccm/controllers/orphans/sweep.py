"""Which owned resources are orphans, and which of them are old enough to act on (pure, clock passed in).

A resource is a candidate when the provider's inventory lists it under a Service key (its
ownership tags name this cluster and that Service) and the Service, in a list fresh from the
API, either does not exist or is not a LoadBalancer this controller owns and carries no
load-balancer finalizer (so the service controller will not clean it up). Never a candidate:
anything listed under ``""`` (shared per-cluster resources such as GCP's instance groups, or
rules that cannot be attributed), a key that is not ``namespace/name``, and any resource of a
Service that is ours or is still being cleaned up by the service controller.

A candidate becomes *ripe* only when every resource of its Service key has been a candidate
for at least one grace period (the sweep period): the first sweep that sees it only remembers
it, so a resource younger than a period, a Service whose creation is racing the sweep, or a
list taken while the API was settling is never acted on at once.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping

from ccm.controllers.service.predicates import ClassFilter, Obj, has_finalizer, wants_load_balancer
from providers.port import OwnedResource, Resource


class Why(enum.Enum):
    """Why a Service key's resources are orphans (words for events and logs)."""

    DELETED = "the Service no longer exists"
    NOT_OURS = "the Service is no longer a LoadBalancer owned by this controller"


@dataclasses.dataclass(frozen=True)
class Candidate:
    service: str  # namespace/name
    resources: tuple[OwnedResource, ...]
    why: Why
    #: the Service as the fresh list had it, when it exists (events then carry its uid)
    obj: Obj | None = None

    @property
    def namespace(self) -> str:
        return self.service.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.service.split("/", 1)[1]


def is_service_key(key: str) -> bool:
    """``namespace/name`` with both parts present (what our ownership tags record)."""
    parts = key.split("/")
    return len(parts) == 2 and all(parts)


def protected(svc: Obj, classes: ClassFilter) -> bool:
    """A Service whose resources the service controller owns: ours, or still being cleaned up."""
    return wants_load_balancer(svc, classes) or has_finalizer(svc)


def candidates(owned: Mapping[str, tuple[OwnedResource, ...]], services: Mapping[str, Obj],
               classes: ClassFilter) -> list[Candidate]:
    """The orphaned Service keys of an inventory, given every Service by key."""
    out = []
    for key, resources in sorted(owned.items()):
        if not resources or not is_service_key(key):
            continue
        svc = services.get(key)
        if svc is None:
            out.append(Candidate(key, resources, Why.DELETED))
        elif not protected(svc, classes):
            out.append(Candidate(key, resources, Why.NOT_OURS, svc))
    return out


class Grace:
    """When each (Service key, resource) was first seen orphaned; forgets what is no longer so."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._first: dict[tuple[str, Resource], float] = {}

    def split(self, found: Iterable[Candidate], now: float) -> tuple[list[Candidate], list[Candidate]]:
        """(ripe, waiting): ripe when every resource of the key was an orphan ``period`` ago."""
        found = list(found)
        current = {(c.service, r.resource) for c in found for r in c.resources}
        self._first = {k: t for k, t in self._first.items() if k in current}
        for k in current:
            self._first.setdefault(k, now)
        ripe: list[Candidate] = []
        waiting: list[Candidate] = []
        for c in found:
            oldest_needed = max(self._first[(c.service, r.resource)] for r in c.resources)
            (ripe if now - oldest_needed >= self.period else waiting).append(c)
        return ripe, waiting

    def forget(self, service: str) -> None:
        """Start the grace period again for ``service`` (it turned out to be protected)."""
        self._first = {k: t for k, t in self._first.items() if k[0] != service}
