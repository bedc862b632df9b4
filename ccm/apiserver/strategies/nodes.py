"""core/v1 Nodes: cluster-scoped; status may be set on create; spec.unschedulable selectable."""

from __future__ import annotations

from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver import timefmt
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy, dig
from ccm.apiserver.validation import is_label_value, is_qualified_name, parse_cidr

_NODE_INFO = ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
              "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture")
TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]
ADDRESS_TYPES = ["ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"]


class NodeStrategy(Strategy):
    plural = "nodes"
    singular = "node"
    kind = "Node"
    model = "V1Node"
    namespaced = False
    short_names = ("no",)
    has_status = True
    field_labels = ("spec.unschedulable",)
    schema = {
        "spec.podCIDRs": ("merge", None),
        "status.addresses": ("merge", "type"),
        "status.conditions": ("merge", "type"),
    }  # taints, images and volumes have no patch strategy in k8s.io/api: atomic

    def default(self, obj: Obj) -> None:
        timefmt.normalize_conditions(dig(obj, "status", "conditions"), "lastHeartbeatTime", "lastTransitionTime")
        # struct-valued fields Go always serialises, so every Node shows them as kube-apiserver's do
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 0}})
        info = status.setdefault("nodeInfo", {})
        if isinstance(info, dict):
            for key in _NODE_INFO:
                info.setdefault(key, "")

    def prepare_for_create(self, obj: Obj) -> None:
        """Nodes may carry status on create (the kubelet registers itself that way)."""
        obj.setdefault("spec", {})
        obj.setdefault("status", {})

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        return {"spec.unschedulable": "true" if dig(obj, "spec", "unschedulable") else "false"}

    def validate(self, obj: Obj) -> list[FieldError]:
        return _validate_node_spec(obj) + _validate_node_status(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = self.validate(new)
        old_id, new_id = dig(old, "spec", "providerID") or "", dig(new, "spec", "providerID") or ""
        if old_id and new_id != old_id:
            errs.append(fe.forbidden("spec.providerID",
                                     'node updates may not change providerID except from "" to valid'))
        old_cidrs = dig(old, "spec", "podCIDRs") or []
        if old_cidrs and dig(new, "spec", "podCIDRs") != old_cidrs:
            errs.append(fe.forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to "
                                                      "valid"))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _validate_node_status(new)


def _validate_node_spec(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(dig(obj, "spec", "taints") or []):
        p = f"spec.taints[{i}]"
        if not isinstance(t, dict):
            errs.append(fe.invalid(p, t, "must be an object"))
            continue
        key = t.get("key") or ""
        errs += [fe.invalid(f"{p}.key", key, m) for m in is_qualified_name(key)]
        if t.get("value"):
            errs += [fe.invalid(f"{p}.value", t["value"], m) for m in is_label_value(t["value"])]
        effect = t.get("effect") or ""
        if not effect:
            errs.append(fe.required(f"{p}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(fe.not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
    seen: set[tuple[Any, Any]] = set()
    for i, t in enumerate(dig(obj, "spec", "taints") or []):
        if isinstance(t, dict):
            k = (t.get("key"), t.get("effect"))
            if k in seen:
                errs.append(fe.duplicate(f"spec.taints[{i}]", f"{k[0]}:{k[1]}"))
            seen.add(k)
    for i, c in enumerate(dig(obj, "spec", "podCIDRs") or []):
        if parse_cidr(c) is None:
            errs.append(fe.invalid(f"spec.podCIDRs[{i}]", c, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
                                                             "2001:db8::/64)"))
    return errs


def _validate_node_status(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, a in enumerate(dig(obj, "status", "addresses") or []):
        p = f"status.addresses[{i}]"
        if not isinstance(a, dict):
            errs.append(fe.invalid(p, a, "must be an object"))
            continue
        if a.get("type") not in ADDRESS_TYPES:
            errs.append(fe.not_supported(f"{p}.type", a.get("type"), ADDRESS_TYPES))
        if not a.get("address"):
            errs.append(fe.required(f"{p}.address"))
    return errs
