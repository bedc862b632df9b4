"""Events: core/v1 and events.k8s.io/v1 are two views of one stored resource.

Objects are stored in core/v1 form; the events.k8s.io/v1 strategy converts on the way in
and out (pkg/apis/events/v1 conversion). core/v1 keeps the legacy, lenient validation
(no name format check); events.k8s.io/v1 applies the strict rules (eventTime, reporting
fields, DNS-subdomain names).
"""

from __future__ import annotations

import copy
from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver import timefmt
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy, dig, str_field
from ccm.apiserver.validation import is_dns1123_subdomain, is_qualified_name

NOTE_LIMIT = 1024
REASON_LIMIT = 128
ACTION_LIMIT = 128
INSTANCE_LIMIT = 128
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

#: events.k8s.io/v1 field <-> core/v1 field (deprecated* fields and renames)
_V1_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_CORE_TO_V1 = {v: k for k, v in _V1_TO_CORE.items()}


def _legacy_validate(obj: Obj, reporting_field: str) -> list[FieldError]:
    """legacyValidateEvent: what every Event must satisfy, whichever API wrote it."""
    errs: list[FieldError] = []
    ns = str_field(obj, "metadata", "namespace")
    involved_ns = str_field(obj, "involvedObject", "namespace")
    if not obj.get("eventTime"):
        if involved_ns:
            if ns != involved_ns:
                errs.append(fe.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace"))
        elif ns not in ("", "default"):
            errs.append(fe.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace"))
    else:
        if not involved_ns and ns not in ("default", "kube-system"):
            errs.append(fe.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace"))
        controller = str_field(obj, "reportingComponent")
        if not controller:
            errs.append(fe.required(reporting_field))
        errs += [fe.invalid(reporting_field, controller, m) for m in is_qualified_name(controller)]
        instance = str_field(obj, "reportingInstance")
        if not instance:
            errs.append(fe.required("reportingInstance"))
        if len(instance) > INSTANCE_LIMIT:
            errs.append(fe.invalid("reportingInstance", "", f"can have at most {INSTANCE_LIMIT} characters"))
        action = str_field(obj, "action")
        if not action:
            errs.append(fe.required("action"))
        if len(action) > ACTION_LIMIT:
            errs.append(fe.invalid("action", "", f"can have at most {ACTION_LIMIT} characters"))
        reason = str_field(obj, "reason")
        if not reason:
            errs.append(fe.required("reason"))
        if len(reason) > REASON_LIMIT:
            errs.append(fe.invalid("reason", "", f"can have at most {REASON_LIMIT} characters"))
        if len(str_field(obj, "message")) > NOTE_LIMIT:
            errs.append(fe.invalid("message", "", f"can have at most {NOTE_LIMIT} characters"))
    errs += [fe.invalid("namespace", ns, m) for m in is_dns1123_subdomain(ns)]
    return errs


class CoreEventStrategy(Strategy):
    plural = "events"
    singular = "event"
    kind = "Event"
    model = "CoreV1Event"
    short_names = ("ev",)
    storage = "events"
    allow_create_on_update = True
    name_rule = "any"
    field_labels = (*(f"involvedObject.{f}" for f in _INVOLVED), "reason", "reportingComponent", "source", "type")

    def default(self, obj: Obj) -> None:
        obj.setdefault("involvedObject", {})
        obj.setdefault("source", {})
        for f in ("firstTimestamp", "lastTimestamp", "eventTime"):
            obj.setdefault(f, None)
        obj.setdefault("reportingComponent", "")
        obj.setdefault("reportingInstance", "")
        timefmt.normalize(obj, "firstTimestamp")
        timefmt.normalize(obj, "lastTimestamp")
        timefmt.normalize(obj, "eventTime", micro=True)
        timefmt.normalize(obj.get("series"), "lastObservedTime", micro=True)

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        out = {f"involvedObject.{f}": str_field(obj, "involvedObject", f) for f in _INVOLVED}
        out["reason"] = str_field(obj, "reason")
        out["reportingComponent"] = str_field(obj, "reportingComponent")
        out["source"] = str_field(obj, "source", "component")
        out["type"] = str_field(obj, "type")
        return out

    def validate(self, obj: Obj) -> list[FieldError]:
        return _legacy_validate(obj, "reportingComponent")


class EventV1Strategy(CoreEventStrategy):
    """events.k8s.io/v1: the strict API over the same storage."""

    group = "events.k8s.io"
    model = "EventsV1Event"
    short_names = ("ev",)
    name_rule = "subdomain"
    field_aliases = {**{f"regarding.{f}": f"involvedObject.{f}" for f in _INVOLVED},
                     "reportingController": "reportingComponent", "deprecatedSource": "source"}

    @property
    def converts(self) -> bool:
        return True

    def to_external(self, obj: Obj) -> Obj:
        out: dict[str, Any] = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
        for k, v in obj.items():
            if k in ("kind", "apiVersion"):
                continue
            out[_CORE_TO_V1.get(k, k)] = v
        for k in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "eventTime"):
            out.setdefault(k, None)
        return out

    def from_external(self, obj: Obj) -> Obj:
        out: dict[str, Any] = {"kind": "Event", "apiVersion": "v1"}
        for k, v in obj.items():
            if k in ("kind", "apiVersion"):
                continue
            out[_V1_TO_CORE.get(k, k)] = copy.deepcopy(v)
        return out

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = _legacy_validate(obj, "reportingController")
        errs += _validate_series(obj)
        if not obj.get("eventTime"):
            errs.append(fe.required("eventTime"))
        t = str_field(obj, "type")
        if t not in ("Normal", "Warning"):
            errs.append(fe.invalid("type", "", f"has invalid value: {t}"))
        if obj.get("firstTimestamp"):
            errs.append(fe.invalid("deprecatedFirstTimestamp", "", "needs to be unset"))
        if obj.get("lastTimestamp"):
            errs.append(fe.invalid("deprecatedLastTimestamp", "", "needs to be unset"))
        if obj.get("count"):
            errs.append(fe.invalid("deprecatedCount", "", "needs to be unset"))
        if str_field(obj, "source", "component") or str_field(obj, "source", "host"):
            errs.append(fe.invalid("deprecatedSource", "", "needs to be unset"))
        return errs


def _validate_series(obj: Obj) -> list[FieldError]:
    series = obj.get("series")
    if series is None:
        return []
    errs: list[FieldError] = []
    count = dig(series, "count")
    if not isinstance(count, int) or count < 2:
        errs.append(fe.invalid("series.count", "", "should be at least 2"))
    if not dig(series, "lastObservedTime"):
        errs.append(fe.required("series.lastObservedTime"))
    return errs
