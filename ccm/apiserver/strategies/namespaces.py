"""core/v1 Namespaces: cluster-scoped, DNS-label names, status.phase."""

from __future__ import annotations

from ccm.apiserver.strategies.base import Obj, Strategy, spec, str_field


class NamespaceStrategy(Strategy):
    plural = "namespaces"
    singular = "namespace"
    kind = "Namespace"
    model = "V1Namespace"
    namespaced = False
    short_names = ("ns",)
    has_status = True
    allow_delete_collection = False
    name_rule = "label"
    field_labels = ("status.phase",)

    def default(self, obj: Obj) -> None:
        name = str_field(obj, "metadata", "name")
        if name:
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        spec(obj).setdefault("finalizers", ["kubernetes"])

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        return {"status.phase": str_field(obj, "status", "phase")}
