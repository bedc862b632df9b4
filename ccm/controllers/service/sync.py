"""One Service's reconcile: upstream ``syncService`` and everything under it (§1.5-§1.6).

Deliberate differences from upstream, each marked ``Improvement:`` where it happens: annotation
validation before any cloud call, create-only annotation changes reported, UserError and provider
warnings surfaced as events, ipMode normalisation, lastSyncedNodes pruned, quiet periodic resyncs,
and Services of a class that is not ours never touched.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping, Sequence

from ccm.annotations import registry
from ccm.annotations.registry import ParsedAnnotations
from ccm.annotations.support import EVERYTHING, AnnotationSupport
from ccm.controllers.service import events as ev
from ccm.controllers.service import status as st
from ccm.controllers.service.errors import SyncError, wrap
from ccm.controllers.service.nodeset import NodeSets
from ccm.controllers.service.patching import ServicePatcher
from ccm.controllers.service.predicates import (
    ClassFilter,
    Obj,
    has_finalizer,
    needs_cleanup,
    wants_load_balancer,
)
from ccm.controllers.service.request import build_request
from ccm.controllers.service.state import LastSyncedNodes, ServiceCache
from ccm.controllers.service.validation import validate
from ccm.kube.client import ApiError
from ccm.kube.events import Recorder
from providers.port import ImplementedElsewhere, LoadBalancer, LoadBalancerRequest, UserError

log = logging.getLogger(__name__)


class Op(enum.Enum):
    ENSURE = "ensure"
    DELETE = "delete"


def _annotations(svc: Obj) -> Mapping[str, str]:
    return (svc.get("metadata") or {}).get("annotations") or {}


def _uid(svc: Obj) -> str:
    return str((svc.get("metadata") or {}).get("uid", ""))


class ServiceSyncer:
    """Runs the reconcile for one key; shared by all service workers (state is locked)."""

    def __init__(
        self,
        *,
        lb: LoadBalancer,
        patcher: ServicePatcher,
        recorder: Recorder,
        list_nodes: Callable[[], Sequence[Obj]],
        cache: ServiceCache,
        last_synced: LastSyncedNodes,
        cluster_name: str,
        annotation_provider: str,
        classes: ClassFilter,
        support: AnnotationSupport = EVERYTHING,
        provider: str = "",
    ) -> None:
        self.lb = lb
        self.patcher = patcher
        self.recorder = recorder
        self.node_sets = NodeSets(list_nodes)  # shared with node sync: one conversion per node list
        self.cache = cache
        self.last_synced = last_synced
        self.cluster_name = cluster_name
        self.annotation_provider = annotation_provider
        self.classes = classes
        #: which annotations the adapter honours; the rest are refused before any cloud call
        self.support = support
        self.provider = provider or annotation_provider

    # ---- request building (also used by node sync) --------------------------------------------
    def parse_annotations(self, svc: Obj) -> ParsedAnnotations:
        return registry.parse(self.annotation_provider, _annotations(svc))

    def lenient_request(self, svc: Obj, parsed: ParsedAnnotations | None = None) -> LoadBalancerRequest:
        """The valid subset of the annotations, no nodes: deletion is never blocked by a bad value."""
        values = (parsed if parsed is not None else self.parse_annotations(svc)).values
        return build_request(svc, (), values, cluster_name=self.cluster_name, lenient=True)

    def strict_request(self, svc: Obj, key: str, loud: bool) -> LoadBalancerRequest:
        """Validate annotations and the spec before any cloud call; Warning events name the problem.

        ``ccm plan`` prints the same findings: both come from :func:`validation.validate`.
        """
        checked = validate(svc, annotation_provider=self.annotation_provider, provider=self.provider,
                           support=self.support, cluster_name=self.cluster_name)
        if loud:
            for w in checked.warnings:
                self.recorder.event(svc, w.type, w.reason, w.message)
        if checked.request is None:
            for e in checked.errors:
                self.recorder.event(svc, e.type, e.reason, e.message)
            log.warning("%s: %s", key, checked.summary)
            raise SyncError(checked.summary)
        return checked.request

    # ---- upstream syncService ---------------------------------------------------------------
    def process_service_create_or_update(self, svc: Obj, key: str, quiet: bool = False) -> None:
        if _type(svc) == "LoadBalancer" and not self.classes.owns(svc):
            # Improvement: another controller's class; never touched, status included.
            return
        cached = self.cache.get(key)
        if cached is not None and _uid(cached) != _uid(svc):
            # deleted and re-created under the same name before we saw the deletion
            self.process_load_balancer_delete(cached, key)
        previous = cached if cached is not None and _uid(cached) == _uid(svc) else None
        self.cache.set(key, svc)
        try:
            op = self.sync_load_balancer_if_needed(svc, key, previous, quiet)
        except Exception as exc:
            self.recorder.event(svc, ev.WARNING, ev.SYNC_FAILED, f"Error syncing load balancer: {exc}")
            raise
        if op is Op.DELETE:
            self.cache.delete(key)
            self.last_synced.prune(key)  # Improvement: upstream never prunes lastSyncedNodes

    def process_service_deletion(self, key: str) -> None:
        cached = self.cache.get(key)
        if cached is None:
            self.last_synced.prune(key)
            return
        self.process_load_balancer_delete(cached, key)
        self.cache.delete(key)
        self.last_synced.prune(key)

    def process_load_balancer_delete(self, svc: Obj, key: str) -> None:
        """Legacy/no-finalizer and uid-change path: no existence check, raw error returned."""
        if not wants_load_balancer(svc, self.classes):
            return
        self.recorder.event(svc, ev.NORMAL, ev.DELETING, ev.MSG_DELETING)
        try:
            self.lb.delete(self.lenient_request(svc))
        except Exception as exc:
            self.recorder.event(svc, ev.WARNING, ev.DELETE_FAILED, f"Error deleting load balancer: {exc}")
            raise
        self.recorder.event(svc, ev.NORMAL, ev.DELETED, ev.MSG_DELETED)

    def sync_load_balancer_if_needed(
        self, svc: Obj, key: str, previous: Obj | None = None, quiet: bool = False
    ) -> Op:
        previous_status = st.from_api((svc.get("status") or {}).get("loadBalancer"))
        if not wants_load_balancer(svc, self.classes) or needs_cleanup(svc, self.classes):
            op = Op.DELETE
            new_status = st.EMPTY
            self._delete(svc, key)
        else:
            op = Op.ENSURE
            ensured = self._ensure(svc, key, previous, previous_status, quiet)
            if ensured is None:
                return op  # ImplementedElsewhere: no status write
            new_status = ensured
        self._patch_status(svc, key, previous_status, new_status)
        return op

    # ---- branches -----------------------------------------------------------------------------
    def _delete(self, svc: Obj, key: str) -> None:
        # the current nodes let the adapter find rules it put into their security groups
        request = self.lenient_request(svc).with_nodes(self.node_sets.current().nodes)
        try:
            exists = self.lb.get(request) is not None
        except Exception as exc:
            raise wrap("failed to check if load balancer exists before cleanup", exc) from exc
        if exists:
            self.recorder.event(svc, ev.NORMAL, ev.DELETING, ev.MSG_DELETING)
        # Improvement: upstream deletes only when Get finds the load balancer, which leaks the parts
        # of a create that failed before the load balancer existed (a security group, target groups).
        # Our finalizer goes on before the first cloud call, so while it is there something may be
        # left: delete finds every part by name and ownership and sends nothing when there is none.
        if exists or has_finalizer(svc):
            try:
                self.lb.delete(request)
            except ImplementedElsewhere:
                log.info("%s: load balancer implemented elsewhere, nothing to delete", key)
            except Exception as exc:
                raise wrap("failed to delete load balancer", exc) from exc
        try:
            self.patcher.remove_finalizer(svc)
        except Exception as exc:
            raise wrap("failed to remove load balancer cleanup finalizer", exc) from exc
        self.recorder.event(svc, ev.NORMAL, ev.DELETED, ev.MSG_DELETED)
        log.info("%s: load balancer deleted", key)

    def _ensure(
        self, svc: Obj, key: str, previous: Obj | None, previous_status: st.LoadBalancerStatus, quiet: bool
    ) -> st.LoadBalancerStatus | None:
        request = self.strict_request(svc, key, loud=not quiet)
        if previous is not None:
            # Improvement: upstream ignores a create-only change silently.
            for changed in registry.create_only_changes(
                self.annotation_provider, _annotations(previous), _annotations(svc)
            ):
                self.recorder.event(
                    svc, ev.WARNING, ev.CREATE_ONLY_CHANGED,
                    f"annotation {changed} is create-only: the change cannot take effect on the existing "
                    "load balancer until the Service is re-created",
                )
        if not quiet:
            self.recorder.event(svc, ev.NORMAL, ev.ENSURING, ev.MSG_ENSURING)
        try:
            self.patcher.add_finalizer(svc)  # before any cloud call
        except Exception as exc:
            raise wrap("failed to add load balancer cleanup finalizer", exc) from exc
        nodes = self.node_sets.current()
        if not nodes:
            self.recorder.event(svc, ev.WARNING, ev.UNAVAILABLE, ev.MSG_NO_NODES)
        self.last_synced.set(key, nodes)  # before the cloud call (upstream v0.29)
        try:
            result = self.lb.ensure(request.with_nodes(nodes.nodes))
        except ImplementedElsewhere:
            log.info("%s: load balancer implemented elsewhere; skipping status update", key)
            return None
        except UserError as exc:
            # Improvement: the user sees the adapter's reason, not only SyncLoadBalancerFailed.
            self.recorder.event(svc, ev.WARNING, exc.reason, str(exc))
            raise wrap("failed to ensure load balancer", exc) from exc
        except Exception as exc:
            raise wrap("failed to ensure load balancer", exc) from exc
        if result is None or result.status is None:
            raise SyncError("service status returned by EnsureLoadBalancer is nil")
        for w in result.warnings:
            self.recorder.event(svc, ev.WARNING, w.reason, w.message)
        new_status = st.normalise(result.status)
        if not quiet or not st.equal(previous_status, new_status):
            if quiet:  # a resync repaired something: say so like a normal sync would
                self.recorder.event(svc, ev.NORMAL, ev.ENSURING, ev.MSG_ENSURING)
            self.recorder.event(svc, ev.NORMAL, ev.ENSURED, ev.MSG_ENSURED)
            log.info("%s: ensured load balancer", key)
        else:
            log.debug("%s: resync: load balancer unchanged", key)
        return new_status

    def _patch_status(
        self, svc: Obj, key: str, previous: st.LoadBalancerStatus, new: st.LoadBalancerStatus
    ) -> None:
        # Improvement: equality after ipMode normalisation, so a steady sync writes nothing.
        if st.equal(previous, new):
            return
        try:
            self.patcher.patch_status(svc, new)
        except ApiError as exc:
            if exc.is_not_found:
                return  # the Service vanished right after its finalizer was removed
            raise wrap("failed to update load balancer status", exc) from exc
        except Exception as exc:
            raise wrap("failed to update load balancer status", exc) from exc
        log.info("%s: load balancer status updated", key)


def _type(svc: Obj) -> str | None:
    return (svc.get("spec") or {}).get("type")

