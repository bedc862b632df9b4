"""Field ownership for one kind: what every write records, and server-side apply.

Upstream's field manager is a stack of decorators around structured-merge-diff; this module
does the same steps in order:

* **update** (create, PUT, non-apply PATCH): the fields this write added or changed go to
  its manager's ``Update`` entry (and leave every other manager), fields it removed leave
  every manager; the entry's time moves only when the write changed something. The request's
  own managedFields are taken as the new state unless empty (or on a subresource), so clients
  that do not know about them cannot drop them; ``[]``/``[{}]`` clears them.
* **apply**: the configuration is merged over the object; the manager's ``Apply`` entry
  becomes exactly what the configuration sets; fields it set last time and no longer does are
  removed unless another manager owns them; a change to a field another manager owns is a
  409 conflict unless forced, which takes the field over. An object without managedFields is
  first attributed to ``before-first-apply``.
* moving from client-side apply: for the ``kubectl`` manager, conflicts on fields the
  ``last-applied-configuration`` annotation still matches are taken over (that manager applied
  them before), and an existing annotation is rewritten to the applied configuration;
* system fields (name, uid, resourceVersion...) are never owned; ``status`` is not owned
  through the main resource nor ``spec`` through ``/status``; at most 10 ``Update`` entries
  are kept, older ones merge into ``ancient-changes``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from ccm.apiserver import errors
from ccm.apiserver import fielderrors as fe
from ccm.apiserver.errors import APIError
from ccm.apiserver.ssa import managedfields as mf
from ccm.apiserver.ssa import typed
from ccm.apiserver.ssa.fieldpath import FieldSet, path_string
from ccm.apiserver.ssa.managedfields import APPLY, UPDATE, Entry, Managed
from ccm.apiserver.ssa.schema import Map, empty_object

Obj = dict[str, Any]

MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"
#: FieldManagerMaxLength
MAX_MANAGER_LENGTH = 128
#: the manager whose applies take over from its own client-side applies
KUBECTL = "kubectl"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Conflict = tuple[Entry, tuple[str, ...]]


class Conflicts(Exception):
    """Fields an apply would change that other managers own."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts

#: fields no manager owns (upstream's stripMeta set)
_STRIP = FieldSet.of(("f:apiVersion",), ("f:kind",), ("f:metadata",), *(
    ("f:metadata", "f:" + f) for f in ("name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
                                       "generation", "managedFields", "resourceVersion")))


def manager_from_user_agent(user_agent: str) -> str:
    """The default manager: the User-Agent up to its first ``/``, printable characters, 128 bytes."""
    out = ""
    for c in user_agent.split("/", maxsplit=1)[0]:
        if not c.isprintable():
            continue
        if len((out + c).encode()) > MAX_MANAGER_LENGTH:
            break
        out += c
    return out


def write_options(options_kind: str, field_manager: str | None, force: str | None, user_agent: str, *,
                  apply: bool) -> tuple[str, bool]:
    """The manager and ``force`` of a write, checked as ``Validate{Create,Update,Patch}Options`` does
    (422 naming the options kind); a write without ``fieldManager`` is its User-Agent's."""
    errs: list[fe.FieldError] = []
    manager = field_manager or ""
    if force not in (None, "", "true", "false", "1", "0"):
        raise errors.bad_request(f'force: Invalid value: "{force}": strconv.ParseBool: parsing "{force}": '
                                 "invalid syntax")
    forced = force in ("true", "1")
    if apply and not manager:
        errs.append(fe.required("fieldManager", "is required for apply patch"))
    if not apply and force not in (None, ""):
        errs.append(fe.forbidden("force", "may not be specified for non-apply patch"))
    if len(manager.encode()) > MAX_MANAGER_LENGTH:
        errs.append(fe.too_long("fieldManager", MAX_MANAGER_LENGTH))
    elif any(not c.isprintable() for c in manager):
        errs.append(fe.invalid("fieldManager", manager, "must only contain printable characters"))
    if errs:
        raise errors.invalid(options_kind, "", errs, "meta.k8s.io")
    return manager or manager_from_user_agent(user_agent), forced


def conflict_error(conflicts: list[Conflict]) -> APIError:
    """The 409 upstream answers, with one FieldManagerConflict cause per field."""
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {e.describe()}", "field": path_string(p)}
              for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {e.describe()}: {path_string(p)}"
    else:
        by_manager: dict[mf.Ident, list[str]] = {}
        owners: dict[mf.Ident, Entry] = {}
        for e, p in conflicts:
            by_manager.setdefault(e.ident, []).append(path_string(p))
            owners[e.ident] = e
        lines = []
        for ident in sorted(by_manager):
            lines.append(f"conflicts with {owners[ident].describe()}:")
            lines += [f"- {p}" for p in by_manager[ident]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return APIError(409, message, "Conflict", {"causes": causes})


class FieldManager:
    """Managed fields of one kind at one API version."""

    def __init__(self, kind_type: Map, api_version: str, kind: str, *, has_status: bool,
                 clock: Callable[[], str]) -> None:
        self.type = kind_type
        self.api_version = api_version
        self.kind = kind
        self.has_status = has_status
        self.clock = clock

    def _ignored(self, subresource: str | None) -> FieldSet | None:
        """Reset fields: a resource's writes do not own what its strategy throws away."""
        if subresource == "status":
            return FieldSet.of(("f:spec",))
        return FieldSet.of(("f:status",)) if self.has_status else None

    def _empty(self) -> Obj:
        return empty_object(self.type, self.api_version, self.kind)

    # ------------------------------------------------------------------ the update step

    @staticmethod
    def _take(cmp: typed.Comparison, managed: Managed, ident: mf.Ident, force: bool) -> Managed:
        """Upstream's ``update``: other managers lose what changed (or conflict) and what went away."""
        changed = cmp.changed()
        conflicts: list[Conflict] = []
        for other_id, e in managed.items():
            if other_id == ident:
                continue
            taken = e.fields.intersection(changed)
            if not taken.empty():
                conflicts += [(e, p) for p in taken.paths()]
        if conflicts and not force:
            raise Conflicts(conflicts)
        out: Managed = {}
        for other_id, e in managed.items():
            kept = e if other_id == ident else Entry(e.manager, e.operation, e.api_version, e.subresource, e.time,
                                                     e.fields.difference(changed).difference(cmp.removed))
            if not kept.fields.empty():
                out[other_id] = kept
        return out

    def _record_update(self, live: Obj, new: Obj, managed: Managed, manager: str, subresource: str | None) -> Managed:
        """The Update entry of ``manager`` gains what this write changed; its time moves only then."""
        ignored = self._ignored(subresource)
        ident = mf.ident(manager, UPDATE, self.api_version, subresource)
        current = mf.ident("\x00current-operation", UPDATE, self.api_version, subresource)
        cmp = typed.compare(live, new, self.type).exclude(ignored)
        managed = self._take(cmp, managed, current, True)
        fields = cmp.changed().difference(cmp.removed).difference(_STRIP)
        if ignored is not None:
            fields = fields.recursive_difference(ignored)
        if not fields.empty():
            previous = managed.get(ident)
            if previous is not None:
                fields = fields.union(previous.fields)
            managed[ident] = Entry(manager, UPDATE, self.api_version, subresource or "", self.clock(), fields)
        return _cap(managed)

    def update(self, live: Obj | None, new: Obj, manager: str, subresource: str | None = None) -> None:
        """Set ``new``'s managedFields for a create (``live`` None) or an update of ``live``."""
        meta = new.setdefault("metadata", {})
        requested = meta.get("managedFields")
        live_meta = (live or {}).get("metadata") or {}
        managed: Managed = {}
        try:
            if subresource is None and mf.is_reset(requested):
                managed = {}
            elif subresource is None and requested:
                managed = mf.decode(requested)
            else:
                managed = mf.decode(live_meta.get("managedFields"))
        except ValueError:
            try:
                managed = mf.decode(live_meta.get("managedFields"))
            except ValueError:
                managed = {}
        before = _without_managed(live) if live is not None else self._empty()
        managed = self._record_update(before, _without_managed(new), managed, manager, subresource)
        _set_managed(new, managed)

    # ------------------------------------------------------------------ apply

    def check_config(self, config: Any, namespace: str | None, name: str) -> Obj:
        """The applied configuration, or a 400 naming what is wrong with it."""
        if not isinstance(config, dict):
            raise errors.bad_request("error decoding patch: the configuration must be an object")
        version = config.get("apiVersion") or ""
        if version != self.api_version:
            raise errors.bad_request("Incorrect version specified in apply patch. Specified patch version: "
                                     f"{version}, expected: {self.api_version}")
        meta = config.get("metadata")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        where = f"{namespace or ''}/{name}; {'/' if '/' not in self.api_version else ''}{self.api_version}, " \
                f"Kind={config.get('kind') or ''}"
        if config.get("kind") != self.kind:
            raise errors.bad_request(f"failed to create typed patch object ({where}): no corresponding type for "
                                     f"{self.api_version}, Kind={config.get('kind') or ''}")
        try:
            typed.validate(config, self.type)
        except typed.SchemaError as exc:
            raise errors.bad_request(f"failed to create typed patch object ({where}): {exc}") from None
        return config

    def apply(self, live: Obj | None, config: Obj, manager: str, *, force: bool,
              subresource: str | None = None) -> Obj:
        """The object after applying ``config`` (checked by :meth:`check_config`), managedFields set.

        Raises the 409 conflict error. The result equals ``live`` when nothing changed.
        """
        try:
            result = self._apply(live, config, manager, force=force, subresource=subresource)
        except Conflicts as exc:
            allowed = self._from_last_applied(live) if manager == KUBECTL else None
            if allowed is None:
                raise conflict_error(exc.conflicts) from None
            remaining = [(e, p) for e, p in exc.conflicts if not allowed.has(p)]
            if remaining:
                raise conflict_error(remaining) from None
            result = self._apply(live, config, manager, force=True, subresource=subresource)
        annotations = (result.get("metadata") or {}).get("annotations") or {}
        if manager == KUBECTL and LAST_APPLIED in annotations:
            applied = copy.deepcopy(config)
            ((applied.get("metadata") or {}).get("annotations") or {}).pop(LAST_APPLIED, None)
            annotations[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":"),
                                                   ensure_ascii=False) + "\n"
        return result

    def _from_last_applied(self, live: Obj | None) -> FieldSet | None:
        """The fields kubectl's client-side apply set and that still hold the value it set (None: no
        usable annotation)."""
        raw = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
        try:
            last = json.loads(raw) if isinstance(raw, str) and raw else None
        except ValueError:
            return None
        if not isinstance(last, dict) or last.get("apiVersion") != self.api_version:
            return None
        try:
            typed.validate(last, self.type)
        except typed.SchemaError:
            return None
        cmp = typed.compare(last, _without_managed(live or {}), self.type)
        return typed.to_field_set(last, self.type).difference(cmp.modified).difference(cmp.added) \
            .difference(cmp.removed)

    def _apply(self, live: Obj | None, config: Obj, manager: str, *, force: bool,
               subresource: str | None) -> Obj:
        ignored = self._ignored(subresource)
        if live is None:
            managed: Managed = {}
            base = self._empty()
        else:
            try:
                managed = mf.decode((live.get("metadata") or {}).get("managedFields"))
            except ValueError as exc:
                raise APIError(500, f"failed to decode managed fields: {exc}", "InternalError") from None
            base = _without_managed(live)
            if not managed:
                managed = self._record_update(self._empty(), base, managed, BEFORE_FIRST_APPLY, None)
        ident = mf.ident(manager, APPLY, self.api_version, subresource)
        last = managed.get(ident)
        merged = typed.merge(base, config, self.type)
        claimed = typed.to_field_set(config, self.type)
        if ignored is not None:
            claimed = claimed.recursive_difference(ignored)
        managed[ident] = Entry(manager, APPLY, self.api_version, subresource or "",
                               last.time if last is not None else None, claimed)
        if last is not None and not last.fields.empty():
            merged = self._prune(merged, managed, last.fields)
        merged = typed.strip_nulls(merged)
        managed = self._take(typed.compare(base, merged, self.type).exclude(ignored), managed, ident, force)
        entry = managed.get(ident)
        if entry is not None:
            entry.fields = entry.fields.difference(_STRIP)
            if merged != base:
                entry.time = self.clock()
        managed = _cap(managed)
        result = copy.deepcopy(merged)
        _set_managed(result, managed)
        return result

    def _prune(self, merged: Obj, managed: Managed, last: FieldSet) -> Obj:
        """Remove what the applier set last time and no longer does, unless someone else owns it."""
        t = self.type
        last = typed.ensure_named_fields_are_members(last, t)
        pruned = typed.remove_items(merged, last, t)
        owned = FieldSet()
        for e in managed.values():
            owned = owned.union(e.fields)
        merged_set = typed.ensure_named_fields_are_members(typed.to_field_set(merged, t), t)
        pruned_set = typed.ensure_named_fields_are_members(typed.to_field_set(_obj(pruned), t), t)
        keep = pruned_set.union(typed.ensure_named_fields_are_members(owned, t))
        pruned = typed.remove_items(merged, merged_set.difference(keep), t)
        pruned_set = typed.ensure_named_fields_are_members(typed.to_field_set(_obj(pruned), t), t)
        return _obj(typed.remove_items(merged, merged_set.difference(pruned_set).intersection(last), t))


def _obj(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _without_managed(obj: Obj) -> Obj:
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    out["metadata"] = meta
    return out


def _set_managed(obj: Obj, managed: Managed) -> None:
    meta = obj.setdefault("metadata", {})
    encoded = mf.encode(managed)
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)


def _cap(managed: Managed) -> Managed:
    """At most MAX_UPDATE_MANAGERS Update entries: the oldest merge into one per API version."""
    updaters = sorted((e for e in managed.values() if not e.applied), key=lambda e: (e.time or "", e.ident))
    excess = len(updaters) - MAX_UPDATE_MANAGERS
    if excess <= 0:
        return managed
    first_of_version: dict[str, mf.Ident] = {}
    for e in updaters:
        if excess <= 0:
            break
        bucket = mf.ident(ANCIENT_CHANGES, UPDATE, e.api_version, None)
        if e.api_version not in first_of_version:
            first_of_version[e.api_version] = e.ident
            continue
        if bucket not in managed:
            first = managed.pop(first_of_version[e.api_version])
            managed[bucket] = Entry(ANCIENT_CHANGES, UPDATE, e.api_version, "", first.time, first.fields)
        b = managed[bucket]
        managed[bucket] = Entry(ANCIENT_CHANGES, UPDATE, e.api_version, "", e.time, b.fields.union(e.fields))
        del managed[e.ident]
        excess -= 1
    return managed
