"""The generic REST driver (apiserver's ``genericregistry.Store`` + ``rest.BeforeCreate/Update``).

It owns what every resource shares: namespace and name checks, system metadata (uid,
creationTimestamp, resourceVersion, generation), optimistic concurrency, finalizers and
graceful deletion, dry runs, selectors and pagination. Resource specifics are delegated
to the strategy. Every method runs on the server's event loop and returns bytes to send.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime
import json
import logging
import operator
import random
import uuid
from typing import Any

from ccm.apiserver import bootstrap, errors
from ccm.apiserver import fielderrors as fe
from ccm.apiserver.allocators import Transaction
from ccm.apiserver.errors import APIError
from ccm.apiserver.listoptions import EXACT
from ccm.apiserver.patch import json_patch, merge_patch, strategic_merge_patch
from ccm.apiserver.protobuf import codec as protobuf
from ccm.apiserver.schema import check_fields
from ccm.apiserver.selectors import LabelSelector, parse_field_selector, parse_label_selector
from ccm.apiserver.ssa import schema as ssa_schema
from ccm.apiserver.ssa.fieldmanager import FieldManager
from ccm.apiserver.store import Entry, Store, dumps, in_namespace
from ccm.apiserver.strategies import Strategy
from ccm.apiserver.strategies.base import Obj
from ccm.apiserver.validation import validate_object_meta, validate_object_meta_update

log = logging.getLogger(__name__)

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_META_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields")
_OMIT_EMPTY = frozenset({"labels", "annotations", "ownerReferences", "finalizers", "managedFields"})
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(strategy: Strategy, namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if strategy.namespaced else name


def _ordered(obj: Obj) -> Obj:
    """kind, apiVersion, metadata (in ObjectMeta field order), then the rest, like Go's encoder."""
    m = obj.get("metadata") or {}
    # Go omits these when empty (omitempty): a finalizer list emptied by a patch disappears
    meta = {k: m[k] for k in _META_ORDER if k in m and not (k in _OMIT_EMPTY and not m[k])}
    meta.update((k, v) for k, v in m.items() if k not in meta and k not in _META_ORDER)
    out: dict[str, Any] = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"), "metadata": meta}
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out


def _preview(strategy: Strategy, obj: Obj) -> Obj:
    """What a dry run answers: the (already ordered) object as this API version shows it."""
    return _ordered(strategy.to_external(obj)) if strategy.converts else obj


class Selection:
    """Label + field selectors for one list or watch request."""

    def __init__(self, strategy: Strategy, label_selector: str | None, field_selector: str | None) -> None:
        self.strategy = strategy
        self.labels: LabelSelector = parse_label_selector(label_selector)
        self.fields = parse_field_selector(field_selector, strategy.supported_fields(), strategy.field_aliases)

    @property
    def everything(self) -> bool:
        return self.labels.empty and self.fields.empty

    def matches(self, obj: Obj) -> bool:
        if not self.labels.empty and not self.labels.matches((obj.get("metadata") or {}).get("labels")):
            return False
        return self.fields.empty or self.fields.matches(self.strategy.fields(obj))


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("unexpected version")
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from None
    if rv <= 0:
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                 "(version meta.k8s.io/v1)")
    return rv, start


class Registry:
    """Create/get/list/update/patch/delete for every served resource over one :class:`Store`."""

    def __init__(self, store: Store, strategies: list[Strategy]) -> None:
        self.store = store
        self.strategies = strategies
        #: Warning headers for the request being served (the loop serves one at a time)
        self.warnings: list[str] = []
        #: duplicate keys in the request body being served (field paths), for fieldValidation
        self.duplicates: list[str] = []
        #: the field manager of the write being served (its fieldManager or User-Agent prefix)
        self.field_manager = "kube-apiserver"
        self._field_managers: dict[str, FieldManager | None] = {}
        self._rand = random.Random()
        self.cluster_objects = bool(strategies) and strategies[0].options.cluster_objects
        for ns in DEFAULT_NAMESPACES:
            self.create(self.namespaces, None, {"metadata": {"name": ns}})
        if self.cluster_objects:
            bootstrap.kubernetes_service(self, strategies[0].options.service_cidr)

    @property
    def namespaces(self) -> Strategy:
        return next(s for s in self.strategies if s.plural == "namespaces")

    # ------------------------------------------------------------------ helpers

    def _get_entry(self, strategy: Strategy, namespace: str | None, name: str) -> Entry:
        entry = self.store.get(strategy.bucket, _key(strategy, namespace, name))
        if entry is None:
            raise errors.not_found(strategy.plural, name, strategy.group)
        return entry

    def render(self, strategy: Strategy, entry: Entry) -> bytes:
        """The object as this API version shows it (cached bytes unless the version converts)."""
        return dumps(_preview(strategy, entry.obj)) if strategy.converts else entry.raw

    def render_protobuf(self, strategy: Strategy, entry: Entry) -> bytes:
        """:meth:`render` in protobuf (cached on the entry unless the version converts)."""
        if strategy.converts:
            return protobuf.encode(_preview(strategy, entry.obj))
        return entry.binary(protobuf.encode)

    def render_item(self, strategy: Strategy, entry: Entry) -> bytes:
        if strategy.converts:
            obj = strategy.to_external(entry.obj)
            return dumps({k: v for k, v in _ordered(obj).items() if k not in ("kind", "apiVersion")})
        return entry.item_raw

    def _decode(self, strategy: Strategy, body: Any, field_validation: str | None = None) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the object provided is unrecognized (must be of type "
                                     f"{strategy.kind}): couldn't get version/kind; json parse error")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind and kind != strategy.kind:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({strategy.api_version})" if api_version != strategy.api_version
                                     else f"the kind in the data ({kind}) does not match the expected kind "
                                          f"({strategy.kind})")
        if api_version and api_version != strategy.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({strategy.api_version})")
        if not isinstance(body.get("metadata", {}), dict):
            raise errors.bad_request("json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta")
        obj = dict(body, kind=strategy.kind, apiVersion=strategy.api_version)
        duplicates, self.duplicates = self.duplicates, []
        if strategy.model:
            self.warnings += check_fields(obj, strategy.model, field_validation, strategy.kind, duplicates)
        obj = strategy.from_external(obj)
        obj.setdefault("metadata", {})
        return obj

    def _check_namespace(self, strategy: Strategy, obj: Obj, namespace: str | None) -> None:
        m = obj["metadata"]
        if not strategy.namespaced:
            m.pop("namespace", None)
            return
        body_ns = m.get("namespace") or ""
        if body_ns and body_ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        m["namespace"] = namespace

    def _namespace_exists(self, namespace: str | None) -> None:
        if namespace is not None and self.store.get("namespaces", namespace) is None:
            raise errors.not_found("namespaces", namespace)

    def _generate_name(self, strategy: Strategy, namespace: str | None, prefix: str) -> str:
        for _ in range(8):
            name = prefix[:58] + "".join(self._rand.choice(_NAME_CHARS) for _ in range(5))
            if self.store.get(strategy.bucket, _key(strategy, namespace, name)) is None:
                return name
        return name

    def _invalid(self, strategy: Strategy, obj: Obj, errs: list[fe.FieldError]) -> APIError:
        name = (obj.get("metadata") or {}).get("name") or ""
        return errors.invalid(strategy.kind, name, errs, strategy.group)

    # ------------------------------------------------------------------ managed fields

    def _fields_of(self, strategy: Strategy) -> FieldManager | None:
        """The kind's field manager (None for a kind without a model: it records no managedFields)."""
        key = strategy.api_version + "/" + strategy.plural
        if key not in self._field_managers:
            kind_type = ssa_schema.for_model(strategy.model) if strategy.model else None
            self._field_managers[key] = None if kind_type is None else FieldManager(
                kind_type, strategy.api_version, strategy.kind, has_status=strategy.has_status, clock=now)
        return self._field_managers[key]

    def _track(self, strategy: Strategy, old: Obj | None, obj: Obj, subresource: str | None) -> None:
        """Record this write in ``obj``'s managedFields (in the API version the request used)."""
        fields = self._fields_of(strategy)
        if fields is None:
            return
        new = strategy.to_external(obj) if strategy.converts else obj
        fields.update(strategy.to_external(old) if old is not None and strategy.converts else old, new,
                      self.field_manager, subresource)
        managed = new["metadata"].get("managedFields")
        if managed:
            obj["metadata"]["managedFields"] = managed
        else:
            obj["metadata"].pop("managedFields", None)

    # ------------------------------------------------------------------ reads

    def get(self, strategy: Strategy, namespace: str | None, name: str) -> bytes:
        return self.render(strategy, self._get_entry(strategy, namespace, name))

    def list(self, strategy: Strategy, namespace: str | None, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int = 0, continue_token: str | None = None,
             resource_version: str | None = None, resource_version_match: str | None = None) -> bytes:
        """A (page of a) list; the options were checked by :func:`listoptions.validate_list`."""
        selection = Selection(strategy, label_selector, field_selector)
        start = ""
        if continue_token:
            if resource_version not in (None, "", "0"):
                raise errors.bad_request("specifying resource version is not allowed when using continue")
            rv, start = decode_continue(continue_token)
            try:
                items = self.store.snapshot(strategy.bucket, rv)
            except APIError:
                raise self._continue_expired(strategy, namespace, start) from None
        elif resource_version_match == EXACT:
            rv = self.not_too_large(resource_version or "")
            items = self.store.snapshot(strategy.bucket, rv)
        else:
            # unset: a consistent read; "0": any state; N: not older than N. The newest state is all three.
            if resource_version not in (None, "", "0"):
                self.not_too_large(resource_version or "")
            rv = self.store.rv
            items = self.store.items(strategy.bucket)
        if namespace is not None:
            items = in_namespace(items, namespace)
        if start:
            items = items[bisect.bisect_left(items, start, key=operator.itemgetter(0)):]
        chunks: list[bytes] = []
        next_key = None
        remaining = 0
        for i, (key, entry) in enumerate(items):
            if not selection.everything and not selection.matches(entry.obj):
                continue
            if limit and len(chunks) >= limit:
                next_key = key
                remaining = len(items) - i if selection.everything else 0
                break
            chunks.append(self.render_item(strategy, entry))
        list_meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if next_key is not None:
            list_meta["continue"] = encode_continue(rv, next_key)
            if remaining:
                list_meta["remainingItemCount"] = remaining
        head = dumps({"kind": strategy.kind + "List", "apiVersion": strategy.api_version, "metadata": list_meta})
        return head[:-1] + b',"items":[' + b",".join(chunks) + b"]}"

    def _continue_expired(self, strategy: Strategy, namespace: str | None, start: str) -> APIError:
        exc = errors.expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a "
            "new list without the continue parameter, or use the continue token in this response to retrieve "
            "the remainder of the results. Continuing with the provided token results in an inconsistent list "
            "- objects that were created, modified, or deleted between the time the first chunk was returned "
            "and now may show up in the list.")
        exc.list_continue = encode_continue(self.store.rv, start)
        return exc

    def not_too_large(self, value: str) -> int:
        """The revision asked for; 504 when it is in the future (upstream waits ~3 s, then answers this)."""
        rv = self.parse_rv(value)
        if rv > self.store.rv:
            raise errors.too_large_resource_version(rv, self.store.rv)
        return rv

    @staticmethod
    def parse_rv(value: str) -> int:
        try:
            rv = int(value)
        except ValueError:
            raise errors.bad_request(f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing '
                                     f'"{value}": invalid syntax') from None
        return rv

    # ------------------------------------------------------------------ writes

    def create(self, strategy: Strategy, namespace: str | None, body: Any, dry_run: bool = False,
               field_validation: str | None = None, *, tracked: bool = False) -> bytes:
        """POST; ``tracked``: the body's managedFields are already this write's (server-side apply)."""
        obj = self._decode(strategy, body, field_validation)
        self._check_namespace(strategy, obj, namespace)
        m = obj["metadata"]
        if m.get("resourceVersion"):
            raise errors.APIError(500, "Internal error occurred: resourceVersion should not be set on objects "
                                       "to be created", "InternalError")
        if strategy.namespaced:
            self._namespace_exists(namespace)
        for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                  "selfLink"):
            m.pop(f, None)
        if not m.get("name") and m.get("generateName"):
            m["name"] = self._generate_name(strategy, namespace, m["generateName"])
        strategy.default(obj)
        if not tracked:
            self._track(strategy, None, obj, None)
        strategy.prepare_for_create(obj)
        # a version-4 UUID from the PRNG: uuid4() costs a getrandom syscall per object
        m["uid"] = str(uuid.UUID(int=self._rand.getrandbits(128), version=4))
        m["creationTimestamp"] = now()
        with Transaction() as txn:  # an allocation failing part-way gives back what it already took
            strategy.begin_create(obj, txn)
            errs = validate_object_meta(m, strategy.namespaced, strategy.name_errors) + strategy.validate(obj)
            if errs:
                raise self._invalid(strategy, obj, errs)
            key = _key(strategy, namespace, m["name"])
            if self.store.get(strategy.bucket, key) is not None:
                raise errors.already_exists(strategy.plural, m["name"], strategy.group)
        obj = _ordered(obj)
        if dry_run:
            txn.revert()
            return dumps(_preview(strategy, obj))
        obj["metadata"] = _ordered({"metadata": dict(obj["metadata"], resourceVersion="")})["metadata"]  # store fills it
        try:
            entry = self.store.create(strategy.bucket, key, obj)
        except APIError:  # too large to store: give back what was allocated for it
            txn.revert()
            raise
        txn.commit()
        log.debug("%s: created %s", key, strategy.plural)
        if strategy is self.namespaces and self.cluster_objects:
            bootstrap.namespace_created(self, m["name"])
        return self.render(strategy, entry)

    def update(self, strategy: Strategy, namespace: str | None, name: str, body: Any, *,
               subresource: str | None = None, dry_run: bool = False,
               field_validation: str | None = None) -> tuple[int, bytes]:
        """PUT; returns (http status, body) since create-on-update answers 201."""
        obj = self._decode(strategy, body, field_validation)
        m = obj["metadata"]
        if m.get("name") and m["name"] != name:
            raise errors.bad_request(f"the name of the object ({m['name']}) does not match the name on the URL "
                                     f"({name})")
        m["name"] = name
        self._check_namespace(strategy, obj, namespace)
        existing = self.store.get(strategy.bucket, _key(strategy, namespace, name))
        if existing is None:
            if subresource or not strategy.allow_create_on_update or m.get("resourceVersion"):
                raise errors.not_found(strategy.plural, name, strategy.group)
            return 201, self.create(strategy, namespace, obj if not strategy.converts
                                    else strategy.to_external(obj), dry_run)
        return 200, self._update(strategy, existing, obj, subresource=subresource, dry_run=dry_run)

    def _update(self, strategy: Strategy, existing: Entry, obj: Obj, *, subresource: str | None,
                dry_run: bool, tracked: bool = False) -> bytes:
        old = existing.obj
        om, m = old["metadata"], obj["metadata"]
        key = _key(strategy, om.get("namespace"), om["name"])
        rv = m.get("resourceVersion")
        if rv:
            if rv != om.get("resourceVersion"):
                raise errors.conflict(strategy.plural, om["name"], strategy.group)
        elif not strategy.allow_unconditional_update:
            # upstream names the resource (not the kind) here
            raise errors.invalid(strategy.plural, om["name"], [fe.invalid("metadata.resourceVersion", 0,
                                                                          "must be specified for an update")],
                                 strategy.group)
        strategy.default(obj)
        if not tracked:
            self._track(strategy, old, obj, subresource)
        m["generation"] = om.get("generation")
        if subresource == "status":
            strategy.prepare_for_status_update(obj, old)
        else:
            strategy.prepare_for_update(obj, old)
        if not m.get("uid"):
            m["uid"] = om.get("uid")
        m["creationTimestamp"] = om.get("creationTimestamp")
        if om.get("deletionTimestamp"):
            m["deletionTimestamp"] = om["deletionTimestamp"]
        if om.get("deletionGracePeriodSeconds") is not None and m.get("deletionGracePeriodSeconds") is None:
            m["deletionGracePeriodSeconds"] = om["deletionGracePeriodSeconds"]
        if strategy.tracks_generation:
            m["generation"] = (om.get("generation") or 0) + (1 if strategy.spec_changed(obj, old) else 0)
        else:
            m.pop("generation", None)
        m.pop("selfLink", None)
        m["resourceVersion"] = om.get("resourceVersion")
        with Transaction() as txn:
            if subresource != "status":
                strategy.begin_update(obj, old, txn)
            errs = validate_object_meta(m, strategy.namespaced, strategy.name_errors)
            errs += validate_object_meta_update(m, om)
            errs += (strategy.validate_status_update(obj, old) if subresource == "status"
                     else strategy.validate_update(obj, old))
            if errs:
                raise self._invalid(strategy, obj, errs)
        if m.get("deletionTimestamp") and not m.get("finalizers"):
            # deleteWithoutFinalizers: the emptied version is never written; the stored object is
            # deleted as it was (the DELETED event and the answer show it), nothing new is allocated
            txn.revert()
            if not dry_run:
                log.info("%s: last finalizer removed, %s deleted", key, strategy.plural)
            return self._delete_now(strategy, existing, dry_run)[1]
        obj = _ordered(obj)
        if dry_run:
            txn.revert()
            return dumps(_preview(strategy, obj))
        if obj == old:
            txn.revert()
            return self.render(strategy, existing)
        try:
            entry = self.store.update(strategy.bucket, key, obj)
        except APIError:
            txn.revert()
            raise
        txn.commit()
        return self.render(strategy, entry)

    def patch(self, strategy: Strategy, namespace: str | None, name: str, content_type: str, body: Any, *,
              subresource: str | None = None, dry_run: bool = False, field_validation: str | None = None) -> bytes:
        existing = self._get_entry(strategy, namespace, name)
        current = json.loads(self.render(strategy, existing))
        if content_type == MERGE_PATCH:
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
            patched = merge_patch(current, body)
        elif content_type == JSON_PATCH:
            patched = json_patch(current, body, in_place=True)
        elif content_type == STRATEGIC_PATCH:
            patched = strategic_merge_patch(current, body, strategy.schema, in_place=True)
        else:
            raise errors.unsupported_media_type(content_type)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch produced something that is not an object")
        return self._patched(strategy, existing, namespace, name, patched, subresource=subresource, dry_run=dry_run,
                             field_validation=field_validation)

    def apply(self, strategy: Strategy, namespace: str | None, name: str, body: Any, *, force: bool = False,
              subresource: str | None = None, dry_run: bool = False,
              field_validation: str | None = None) -> tuple[int, bytes]:
        """Server-side apply (PATCH ``application/apply-patch+yaml``): (http status, body); an object
        that does not exist is created from the configuration (201)."""
        fields = self._fields_of(strategy)
        if fields is None:
            raise errors.unsupported_media_type(APPLY_PATCH)
        config = fields.check_config(body, namespace, name)
        cm: dict[str, Any] = config["metadata"] if isinstance(config.get("metadata"), dict) else {}
        if cm.get("name") not in (None, name):
            raise errors.bad_request(f"the name of the object ({cm['name']}) does not match the name on the URL "
                                     f"({name})")
        if strategy.namespaced and cm.get("namespace") not in (None, "", namespace):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        existing = self.store.get(strategy.bucket, _key(strategy, namespace, name))
        if existing is None:
            if subresource:
                raise errors.not_found(strategy.plural, name, strategy.group)
            created = fields.apply(None, config, self.field_manager, force=force)
            created["metadata"]["name"] = name
            return 201, self.create(strategy, namespace, created, dry_run, field_validation, tracked=True)
        live = json.loads(self.render(strategy, existing))
        merged = fields.apply(live, config, self.field_manager, force=force, subresource=subresource)
        return 200, self._patched(strategy, existing, namespace, name, merged, subresource=subresource,
                                  dry_run=dry_run, field_validation=field_validation, tracked=True)

    def _patched(self, strategy: Strategy, existing: Entry, namespace: str | None, name: str, patched: Obj, *,
                 subresource: str | None, dry_run: bool, field_validation: str | None,
                 tracked: bool = False) -> bytes:
        """Store the result of a patch of ``existing`` (the checks every patch type shares)."""
        pm = patched.get("metadata")
        if not isinstance(pm, dict):
            pm = patched["metadata"] = {}
        patched_rv = pm.get("resourceVersion")
        if patched_rv and patched_rv != existing.obj["metadata"].get("resourceVersion"):
            raise errors.conflict(strategy.plural, name, strategy.group)
        pm["resourceVersion"] = existing.obj["metadata"].get("resourceVersion")
        if pm.get("name") != name or (strategy.namespaced and pm.get("namespace") != namespace):
            raise self._invalid(strategy, patched, [fe.invalid("metadata.name", pm.get("name"),
                                                               "field is immutable")])
        obj = self._decode(strategy, patched, field_validation)
        return self._update(strategy, existing, obj, subresource=subresource, dry_run=dry_run, tracked=tracked)

    def delete(self, strategy: Strategy, namespace: str | None, name: str, options: Any = None,
               dry_run: bool = False) -> bytes:
        return self._delete(strategy, self._get_entry(strategy, namespace, name), options, dry_run)[1]

    def delete_collection(self, strategy: Strategy, namespace: str | None, *, label_selector: str | None = None,
                          field_selector: str | None = None, options: Any = None, dry_run: bool = False) -> bytes:
        """DELETE on a collection: every selected object, as a list of what was deleted."""
        if not strategy.allow_delete_collection:
            raise errors.method_not_allowed()
        selection = Selection(strategy, label_selector, field_selector)
        victims = [e for _, e in self.store.items(strategy.bucket, namespace)
                   if selection.everything or selection.matches(e.obj)]
        items = [self._delete(strategy, entry, options, dry_run)[0] for entry in victims]
        head = dumps({"kind": strategy.kind + "List", "apiVersion": strategy.api_version,
                      "metadata": {"resourceVersion": str(self.store.rv)}})
        return head[:-1] + b',"items":[' + b",".join(items) + b"]}"

    def _delete(self, strategy: Strategy, existing: Entry, options: Any, dry_run: bool) -> tuple[bytes, bytes]:
        """Delete one object: (its final state as a list item, the response body)."""
        old = existing.obj
        namespace, name = old["metadata"].get("namespace"), old["metadata"]["name"]
        om = old["metadata"]
        key = _key(strategy, namespace, name)
        pre = (options or {}).get("preconditions") or {} if isinstance(options, dict) else {}
        if pre.get("uid") and pre["uid"] != om.get("uid"):
            raise errors.conflict(strategy.plural, name, strategy.group,
                                  f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                  f"{om.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != om.get("resourceVersion"):
            raise errors.conflict(strategy.plural, name, strategy.group,
                                  f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                                  f"ResourceVersion in object meta: {om.get('resourceVersion')}")
        if om.get("finalizers"):
            if om.get("deletionTimestamp"):
                return self.render_item(strategy, existing), self.render(strategy, existing)
            obj = json.loads(existing.raw)
            obj["metadata"]["deletionTimestamp"] = now()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            obj = _ordered(obj)
            if dry_run:
                preview = _preview(strategy, obj)
                return dumps({k: v for k, v in preview.items() if k not in ("kind", "apiVersion")}), dumps(preview)
            entry = self.store.update(strategy.bucket, key, obj)
            log.info("%s: %s marked for deletion, waiting for finalizers %s", key, strategy.plural,
                     om.get("finalizers"))
            return self.render_item(strategy, entry), self.render(strategy, entry)
        return self._delete_now(strategy, existing, dry_run)

    def _delete_now(self, strategy: Strategy, existing: Entry, dry_run: bool) -> tuple[bytes, bytes]:
        """Remove the stored object as it is (stamped with the deletion's revision) and free what it held."""
        if dry_run:
            entry = existing
        else:
            strategy.after_delete(existing.obj)
            entry = self.store.delete(strategy.bucket, _key(strategy, existing.obj["metadata"].get("namespace"),
                                                            existing.obj["metadata"]["name"]),
                                      json.loads(existing.raw))
        return self.render_item(strategy, entry), \
            self._deleted_response(strategy, entry.obj, self.render(strategy, entry))

    @staticmethod
    def _deleted_response(strategy: Strategy, obj: Obj, rendered: bytes) -> bytes:
        if strategy.return_deleted_object:
            return rendered
        details: dict[str, Any] = {"name": obj["metadata"]["name"]}
        if strategy.group:
            details["group"] = strategy.group
        details["kind"] = strategy.plural
        details["uid"] = obj["metadata"].get("uid")
        return dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": details})
