"""core/v1 Pods: enough for kubectl to find them (``describe node`` lists a node's Pods).

Nothing runs a Pod here: there is no scheduler and no kubelet, so a Pod stays ``Pending``
with whatever ``spec.nodeName`` it was created with, and deleting one removes it at once (no
kubelet to confirm a graceful termination). Scheme defaulting covers the fields every Pod
shows; validation covers what a Pod cannot exist without (containers with names and images).
"""

from __future__ import annotations

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy, dig, spec, str_field
from ccm.apiserver.validation import is_dns1123_label

_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
           "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")


class PodStrategy(Strategy):
    plural = "pods"
    singular = "pod"
    kind = "Pod"
    model = "V1Pod"
    short_names = ("po",)
    categories = ("all",)
    has_status = True
    field_labels = _FIELDS

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30),
                           ("dnsPolicy", "ClusterFirst"), ("securityContext", {}),
                           ("schedulerName", "default-scheduler"), ("enableServiceLinks", True),
                           ("preemptionPolicy", "PreemptLowerPriority"), ("priority", 0)):
            s.setdefault(key, value)
        for c in [*(s.get("initContainers") or []), *(s.get("containers") or [])]:
            if not isinstance(c, dict):
                continue
            image = str(c.get("image") or "")
            latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
            c.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        containers = dig(obj, "spec", "containers")
        if not containers:
            return [fe.required("spec.containers", "")]
        names: set[str] = set()
        for i, c in enumerate(containers):
            path = f"spec.containers[{i}]"
            name = str_field(c, "name")
            if not name:
                errs.append(fe.required(f"{path}.name", ""))
            elif is_dns1123_label(name):
                errs.append(fe.invalid(f"{path}.name", name, is_dns1123_label(name)[0]))
            elif name in names:
                errs.append(fe.duplicate(f"{path}.name", name))
            names.add(name)
            if not str_field(c, "image").strip():
                errs.append(fe.required(f"{path}.image", ""))
        return errs

    def extra_fields(self, obj: Obj) -> dict[str, str]:
        out = {f: str_field(obj, *f.split(".")) for f in _FIELDS}
        out["spec.hostNetwork"] = "true" if dig(obj, "spec", "hostNetwork") else "false"
        return out
