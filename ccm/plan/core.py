"""One Service's plan: the controller's checks, then the provider's planning capability.

Mirrors :meth:`ccm.controllers.service.sync.ServiceSyncer.sync_load_balancer_if_needed` up to the
cloud call: which Services the controller acts on (type and class), the validation with its
events, the eligible nodes, and then ``plan_offline`` (everything from an empty cloud) or
``plan_live`` (read-only observe, then what the next ``ensure`` would send) instead of ``ensure``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from ccm.controllers.service import events as ev
from ccm.controllers.service.nodeset import NodeSet
from ccm.controllers.service.predicates import ClassFilter, needs_cleanup, wants_load_balancer
from ccm.controllers.service.validation import Finding, validate
from ccm.plan.inputs import with_defaults
from providers.port import CloudProvider, ImplementedElsewhere, Operation, Planner, UserError


class Outcome(enum.StrEnum):
    """What the controller would do with the Service."""

    #: build or update a load balancer: ``operations`` is what it would send
    PLANNED = "planned"
    #: refused before any cloud call (the events say why); ``ccm plan`` exits non-zero
    INVALID = "invalid"
    #: not a LoadBalancer Service: nothing to build
    NO_LOAD_BALANCER = "no-load-balancer"
    #: another controller's loadBalancerClass: never touched
    NOT_OURS = "not-ours"
    #: the adapter hands the Service to another controller (ImplementedElsewhere)
    ELSEWHERE = "implemented-elsewhere"
    #: the controller would delete the load balancer (no longer a LoadBalancer, or being deleted)
    DELETE = "delete"


@dataclasses.dataclass(frozen=True)
class ServicePlan:
    key: str
    outcome: Outcome
    #: the events the controller would record (warnings, and the errors of an invalid Service)
    events: tuple[Finding, ...] = ()
    #: the mutating calls, in order (PLANNED only; empty means "nothing to change")
    operations: tuple[Operation, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.INVALID

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.key,
            "outcome": str(self.outcome),
            "events": [e.to_json() for e in self.events],
            "notes": list(self.notes),
            "operations": [op.to_json() for op in self.operations],
        }


@dataclasses.dataclass(frozen=True)
class Planning:
    """The provider and the controller settings a plan is made with."""

    cloud: CloudProvider
    planner: Planner
    cluster_name: str
    classes: ClassFilter = dataclasses.field(default_factory=ClassFilter)
    live: bool = False


def plan_service(ctx: Planning, service: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]]) -> ServicePlan:
    """The plan for ``service`` with ``nodes`` (API dicts; filtered by the controller's predicates)."""
    svc, notes = with_defaults(service)
    meta, spec = svc["metadata"], svc.get("spec") or {}
    key = f"{meta['namespace']}/{meta.get('name', '')}"
    if not wants_load_balancer(svc, ctx.classes):
        if needs_cleanup(svc, ctx.classes):
            return ServicePlan(key, Outcome.DELETE, notes=(*notes, "the controller would delete its load balancer"))
        if spec.get("type") == "LoadBalancer":
            return ServicePlan(key, Outcome.NOT_OURS, notes=(
                *notes, f"spec.loadBalancerClass {spec.get('loadBalancerClass')!r} belongs to another controller; "
                        "ccm never touches this Service"))
        return ServicePlan(key, Outcome.NO_LOAD_BALANCER, notes=(
            *notes, f"spec.type is {spec.get('type') or 'ClusterIP'}: no load balancer"))
    checked = validate(svc, annotation_provider=ctx.cloud.annotation_provider, provider=ctx.cloud.name,
                       support=ctx.cloud.annotation_support(), cluster_name=ctx.cluster_name)
    events = list(checked.warnings)
    if checked.request is None:
        return ServicePlan(key, Outcome.INVALID, (*events, *checked.errors), notes=tuple(notes))
    eligible = NodeSet.of(nodes)
    if not eligible:
        events.append(Finding(ev.WARNING, ev.UNAVAILABLE, ev.MSG_NO_NODES))
    request = checked.request.with_nodes(eligible.nodes)
    try:
        operations = ctx.planner.plan_live(request) if ctx.live else ctx.planner.plan_offline(request)
    except ImplementedElsewhere:
        return ServicePlan(key, Outcome.ELSEWHERE, tuple(events), notes=(
            *notes, "the provider hands this Service to another controller: ccm makes no cloud call"))
    except UserError as exc:
        # the controller records the adapter's reason as a Warning event
        return ServicePlan(key, Outcome.INVALID, (*events, Finding(ev.WARNING, exc.reason, str(exc))),
                           notes=tuple(notes))
    return ServicePlan(key, Outcome.PLANNED, tuple(events), tuple(operations), tuple(notes))
