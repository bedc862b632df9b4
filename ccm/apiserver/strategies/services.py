"""core/v1 Services: defaulting, ClusterIP/NodePort allocation, status rules.

Follows pkg/registry/core/service (strategy.go, storage/alloc.go); the validation itself
lives in :mod:`service_validation`. Allocation runs before validation, as in kube-apiserver's
BeginCreate/BeginUpdate hooks, and is undone when the request fails or is a dry run.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TypeVar

from ccm.apiserver import errors, timefmt
from ccm.apiserver import fielderrors as fe
from ccm.apiserver.allocators import AllocationError, IPAllocator, PortAllocator, Transaction
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Options, Strategy, dig, spec, str_field
from ccm.apiserver.strategies.service_types import (
    externally_accessible,
    needs_cluster_ip,
    needs_hc_node_port,
    needs_node_port,
    node_ports_of,
    ports_of,
    service_type,
    should_allocate_node_ports,
)
from ccm.apiserver.strategies.service_validation import validate_load_balancer_status, validate_service
from ccm.apiserver.validation import parse_ip

_T = TypeVar("_T")


def _next_free(allocate_next: Callable[[], _T], what: str) -> _T:
    """The next free value; a full range is the 500 kube-apiserver answers with."""
    try:
        return allocate_next()
    except AllocationError as exc:
        raise errors.APIError(500, f"Internal error occurred: failed to allocate a {what}: {exc}",
                              "InternalError") from None


class ServiceStrategy(Strategy):
    plural = "services"
    singular = "service"
    kind = "Service"
    model = "V1Service"
    short_names = ("svc",)
    categories = ("all",)
    has_status = True
    allow_create_on_update = True
    return_deleted_object = True
    allow_delete_collection = False
    #: v1.36 (RelaxedServiceNameValidation): a DNS-1123 label, so "1web" is fine; dots are not
    name_rule = "label"
    field_labels = ("spec.clusterIP", "spec.type")
    schema = {
        "spec.ports": ("merge", "port"),
        "status.conditions": ("merge", "type"),
    }

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.ips = IPAllocator(options.service_cidr)
        self.node_ports = PortAllocator(*options.node_port_range)

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        return {"spec.clusterIP": str_field(obj, "spec", "clusterIP"), "spec.type": str_field(obj, "spec", "type")}

    # ------------------------------------------------------------------ defaulting

    def default(self, obj: Obj) -> None:
        """SetDefaults_Service (pkg/apis/core/v1/defaults.go)."""
        s = spec(obj)
        if not s.get("type"):
            s["type"] = "ClusterIP"
        if not s.get("sessionAffinity"):
            s["sessionAffinity"] = "None"
        if s["sessionAffinity"] == "ClientIP" and dig(s, "sessionAffinityConfig", "clientIP",
                                                      "timeoutSeconds") is None:
            s["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
        for p in ports_of(obj):
            if not p.get("protocol"):
                p["protocol"] = "TCP"
            if p.get("targetPort") in (None, 0, ""):
                p["targetPort"] = p.get("port")
        if externally_accessible(obj) and not s.get("externalTrafficPolicy"):
            s["externalTrafficPolicy"] = "Cluster"
        if not s.get("internalTrafficPolicy") and s["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
            s["internalTrafficPolicy"] = "Cluster"
        if s["type"] == "LoadBalancer" and s.get("allocateLoadBalancerNodePorts") is None:
            s["allocateLoadBalancerNodePorts"] = True
        timefmt.normalize_conditions(dig(obj, "status", "conditions"), "lastTransitionTime")
        for ing in dig(obj, "status", "loadBalancer", "ingress") or []:
            if isinstance(ing, dict) and ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        # a shallow copy is enough: only top-level status keys are ever replaced below
        new["status"] = dict(old.get("status") or {"loadBalancer": {}})
        self._drop_type_dependent_fields(new, old)

    @staticmethod
    def _drop_type_dependent_fields(new: Obj, old: Obj) -> None:
        """Clear fields the new type no longer uses when the user left them as they were."""
        ns, os_ = spec(new), old.get("spec") or {}
        if needs_cluster_ip(old) and not needs_cluster_ip(new):
            if ns.get("clusterIP") == os_.get("clusterIP") and ns.get("clusterIPs") == os_.get("clusterIPs"):
                ns.pop("clusterIP", None)
                ns.pop("clusterIPs", None)
            if ns.get("ipFamilies") == os_.get("ipFamilies"):
                ns.pop("ipFamilies", None)
            if ns.get("ipFamilyPolicy") == os_.get("ipFamilyPolicy"):
                ns.pop("ipFamilyPolicy", None)
        if needs_node_port(old) and not needs_node_port(new) and node_ports_of(new) <= node_ports_of(old):
            for p in ports_of(new):
                p.pop("nodePort", None)
        if needs_hc_node_port(old) and not needs_hc_node_port(new) and \
                ns.get("healthCheckNodePort") == os_.get("healthCheckNodePort"):
            ns.pop("healthCheckNodePort", None)
        if service_type(old) == "LoadBalancer" and service_type(new) != "LoadBalancer" and \
                ns.get("allocateLoadBalancerNodePorts") is not None and \
                ns.get("allocateLoadBalancerNodePorts") == os_.get("allocateLoadBalancerNodePorts"):
            ns.pop("allocateLoadBalancerNodePorts", None)
        if service_type(old) == "LoadBalancer" and service_type(new) != "LoadBalancer" and \
                ns.get("loadBalancerClass") == os_.get("loadBalancerClass"):
            ns.pop("loadBalancerClass", None)
        if externally_accessible(old) and not externally_accessible(new) and \
                ns.get("externalTrafficPolicy") == os_.get("externalTrafficPolicy"):
            ns.pop("externalTrafficPolicy", None)
        if service_type(new) != "LoadBalancer":
            new.setdefault("status", {})["loadBalancer"] = {}

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        # shared with the stored version on purpose: nothing mutates spec after this point
        new["spec"] = old.get("spec") or {}

    # ------------------------------------------------------------------ allocation

    def _invalid(self, obj: Obj, errs: list[FieldError]) -> errors.APIError:
        return errors.invalid("Service", str_field(obj, "metadata", "name"), errs)

    def _init_ip_families(self, obj: Obj) -> None:
        """initIPFamilyFields for a single-stack cluster: only the service CIDR's family exists."""
        s = spec(obj)
        family = self.ips.family
        headless_no_selector = s.get("clusterIP") == "None" and not s.get("selector")
        if headless_no_selector:
            s.setdefault("ipFamilyPolicy", "RequireDualStack")
            s["ipFamilies"] = [f for f in s.get("ipFamilies") or [family] if f == family] or [family]
            return
        errs = [fe.invalid(f"spec.ipFamilies[{i}]", f, "not configured on this cluster")
                for i, f in enumerate(s.get("ipFamilies") or []) if f != family and f in ("IPv4", "IPv6")]
        if s.get("ipFamilyPolicy") == "RequireDualStack":
            errs.append(fe.invalid("spec.ipFamilyPolicy", "RequireDualStack",
                                   "this cluster is not configured for dual-stack services"))
        if errs:
            raise self._invalid(obj, errs)
        if not s.get("ipFamilyPolicy"):
            s["ipFamilyPolicy"] = "SingleStack"
        if not s.get("ipFamilies"):
            s["ipFamilies"] = [family]

    def _alloc_cluster_ip(self, obj: Obj, txn: Transaction) -> None:
        s = spec(obj)
        ip, ips = s.get("clusterIP") or "", s.get("clusterIPs") or []
        if not ip and ips and isinstance(ips[0], str):
            ip = s["clusterIP"] = ips[0]
        if ip and not ips:
            ips = s["clusterIPs"] = [ip]
        self._init_ip_families(obj)
        if ip == "None":
            return
        if not ip:
            ip = _next_free(self.ips.allocate_next, "serviceIP")
            txn.took(functools.partial(self.ips.release, ip))
            s["clusterIP"], s["clusterIPs"] = ip, [ip]
            return
        if parse_ip(ip) is None:
            return  # validation reports it
        try:
            self.ips.allocate(ip)
        except AllocationError as exc:
            raise self._invalid(obj, [fe.invalid("spec.clusterIPs", list(ips),
                                                 f"failed to allocate IP {ip}: {exc}")]) from None
        txn.took(lambda: self.ips.release(ip))

    def _alloc_node_ports(self, obj: Obj, txn: Transaction, keep: set[int]) -> None:
        """initNodePorts/updateNodePorts: ``keep`` are ports this Service already holds."""
        ports = ports_of(obj)
        by_port: dict[int, int] = {}
        taken: set[int] = set()

        def take(i: int, np: int) -> None:
            if np in keep or np in taken:
                taken.add(np)
                return
            try:
                self.node_ports.allocate(np)
            except AllocationError as exc:
                raise self._invalid(obj, [fe.invalid(f"spec.ports[{i}].nodePort", np, str(exc))]) from None
            taken.add(np)
            txn.took(lambda: self.node_ports.release(np))

        for i, p in enumerate(ports):
            np = p.get("nodePort") or 0
            if not isinstance(np, int):
                continue
            if not np and not should_allocate_node_ports(obj):
                continue
            number = p.get("port")
            have = by_port.get(number) if isinstance(number, int) else None
            if not have:
                requested = next((q.get("nodePort") for q in ports[i:] if q.get("port") == number
                                  and isinstance(q.get("nodePort"), int) and q.get("nodePort")), 0)
                if requested:
                    take(i, requested)
                    p["nodePort"] = requested
                else:
                    requested = _next_free(self.node_ports.allocate_next, "nodePort")
                    txn.took(functools.partial(self.node_ports.release, requested))
                    taken.add(requested)
                    p["nodePort"] = requested
                if isinstance(number, int):
                    by_port[number] = requested
            elif np != have:
                if not np:
                    p["nodePort"] = have
                else:
                    take(i, np)

    def _alloc_hc_node_port(self, obj: Obj, txn: Transaction, old_port: int = 0) -> None:
        s = spec(obj)
        hc = s.get("healthCheckNodePort") or 0
        if not isinstance(hc, int):
            return
        if hc and hc == old_port:
            return
        if not hc:
            hc = _next_free(self.node_ports.allocate_next, "nodePort")
            s["healthCheckNodePort"] = hc
        else:
            try:
                self.node_ports.allocate(hc)
            except AllocationError as exc:
                raise self._invalid(obj, [fe.invalid("spec.healthCheckNodePort", hc,
                                                     f"failed to allocate requested HealthCheck NodePort "
                                                     f"{hc}: {exc}")]) from None
        txn.took(lambda: self.node_ports.release(hc))

    def begin_create(self, obj: Obj, txn: Transaction) -> None:
        if needs_cluster_ip(obj):
            self._alloc_cluster_ip(obj, txn)
        self._alloc_node_ports(obj, txn, set())
        if needs_hc_node_port(obj):
            self._alloc_hc_node_port(obj, txn)

    def begin_update(self, new: Obj, old: Obj, txn: Transaction) -> None:
        ns, os_ = spec(new), old.get("spec") or {}
        # patchAllocatedValues: a PUT that omits allocated values keeps them
        if needs_cluster_ip(old) and needs_cluster_ip(new):
            if not ns.get("clusterIP"):
                ns["clusterIP"] = os_.get("clusterIP")
            if not ns.get("clusterIPs") or ns.get("clusterIPs") == [""]:
                ns["clusterIPs"] = copy.deepcopy(os_.get("clusterIPs"))
            for f in ("ipFamilies", "ipFamilyPolicy"):
                if not ns.get(f) and os_.get(f):
                    ns[f] = copy.deepcopy(os_[f])
        if needs_node_port(old) and needs_node_port(new):
            used = node_ports_of(old) & node_ports_of(new)
            by_name = {p.get("name", ""): p.get("nodePort") for p in ports_of(old)}
            for p in ports_of(new):
                if not p.get("nodePort"):
                    prev = by_name.get(p.get("name", ""))
                    if prev and prev not in used:
                        p["nodePort"] = prev
        if needs_hc_node_port(old) and needs_hc_node_port(new) and not ns.get("healthCheckNodePort"):
            ns["healthCheckNodePort"] = os_.get("healthCheckNodePort")
        # allocate what is new, release on commit what is no longer held
        old_ip = os_.get("clusterIP") if needs_cluster_ip(old) else None
        if needs_cluster_ip(new) and not needs_cluster_ip(old):
            self._alloc_cluster_ip(new, txn)
        elif old_ip and old_ip != "None" and not needs_cluster_ip(new):
            txn.release_on_commit(lambda: self.ips.release(old_ip))
        old_ports = node_ports_of(old)
        self._alloc_node_ports(new, txn, old_ports)
        for gone in old_ports - node_ports_of(new):
            txn.release_on_commit(functools.partial(self.node_ports.release, gone))
        old_hc = os_.get("healthCheckNodePort") or 0
        if needs_hc_node_port(new):
            self._alloc_hc_node_port(new, txn, old_hc if needs_hc_node_port(old) else 0)
        new_hc = ns.get("healthCheckNodePort") or 0
        if old_hc and old_hc != new_hc and old_hc not in node_ports_of(new):
            txn.release_on_commit(lambda: self.node_ports.release(old_hc))

    def after_delete(self, obj: Obj) -> None:
        s = obj.get("spec") or {}
        ip = s.get("clusterIP")
        if ip and ip != "None":
            self.ips.release(ip)
        for np in node_ports_of(obj):
            self.node_ports.release(np)
        if isinstance(s.get("healthCheckNodePort"), int) and s["healthCheckNodePort"]:
            self.node_ports.release(s["healthCheckNodePort"])

    # ------------------------------------------------------------------ validation

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = validate_service(new, old)
        ns, os_ = new.get("spec") or {}, old.get("spec") or {}
        if needs_cluster_ip(old) and needs_cluster_ip(new) and os_.get("clusterIPs") and \
                ns.get("clusterIPs") != os_.get("clusterIPs"):
            errs.append(fe.invalid("spec.clusterIPs[0]", ns.get("clusterIPs"), "may not change once set"))
        if needs_hc_node_port(old) and needs_hc_node_port(new) and \
                ns.get("healthCheckNodePort") != os_.get("healthCheckNodePort"):
            errs.append(fe.forbidden("spec.healthCheckNodePort", "field is immutable"))
        if service_type(old) == "LoadBalancer" and service_type(new) == "LoadBalancer" and \
                ns.get("loadBalancerClass") != os_.get("loadBalancerClass"):
            errs.append(fe.invalid("spec.loadBalancerClass", ns.get("loadBalancerClass"), "may not change once set"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_load_balancer_status(new, old)
