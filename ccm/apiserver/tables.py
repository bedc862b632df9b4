"""Server-side printing (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``) for ``kubectl get``.

Columns follow kube-apiserver's printers for Services and Nodes; other resources get the
default Name / Created At table.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from ccm.apiserver.strategies.base import Obj, dig

Column = tuple[str, str, str, int]  # name, type, format, priority


def wants_table(accept: str) -> bool:
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def wants_partial(accept: str) -> bool:
    """``as=PartialObjectMetadata`` (metadata-only clients); only when the client asks for it."""
    first = accept.split(",", 1)[0]
    return "as=PartialObjectMetadata" in first and "g=meta.k8s.io" in first


def partial(obj: Obj) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def partial_list(doc: Obj) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": doc.get("metadata") or {},
            "items": [{"metadata": (i.get("metadata") or {})} for i in doc.get("items") or []]}


def human_duration(seconds: float) -> str:
    """duration.HumanDuration, as kubectl's AGE column shows it."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    return f"{h // (24 * 365)}y{(h // 24) % 365}d"


def _since(ts: Any) -> str:
    if not isinstance(ts, str) or not ts:
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.UTC) - then).total_seconds())


def _age(obj: Obj) -> str:
    return _since(dig(obj, "metadata", "creationTimestamp"))


def _namespace_row(obj: Obj) -> list[Any]:
    return [dig(obj, "metadata", "name"), dig(obj, "status", "phase") or "", _age(obj)]


def _event_row(obj: Obj) -> list[Any]:
    """Columns of kube's event printer; reads core/v1 or events.k8s.io/v1 field names."""
    def field(core: str, v1: str) -> Any:
        return obj.get(core) if obj.get(core) is not None else obj.get(v1)

    involved = field("involvedObject", "regarding") or {}
    last = field("lastTimestamp", "deprecatedLastTimestamp") or obj.get("eventTime") or \
        dig(obj, "series", "lastObservedTime")
    first = field("firstTimestamp", "deprecatedFirstTimestamp") or obj.get("eventTime")
    source = dig(field("source", "deprecatedSource"), "component") or \
        field("reportingComponent", "reportingController") or ""
    return [_since(last), obj.get("type", ""), obj.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}", involved.get("fieldPath", ""),
            source, field("message", "note") or "", _since(first), field("count", "deprecatedCount") or 1,
            dig(obj, "metadata", "name")]


def _endpointslice_row(obj: Obj) -> list[Any]:
    ports = ",".join(str(p.get("port", "")) for p in obj.get("ports") or []) or "<unset>"
    addresses = [a for ep in obj.get("endpoints") or [] for a in ep.get("addresses") or []]
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [dig(obj, "metadata", "name"), obj.get("addressType", ""), ports, shown or "<unset>", _age(obj)]


def _lease_row(obj: Obj) -> list[Any]:
    return [dig(obj, "metadata", "name"), dig(obj, "spec", "holderIdentity") or "", _age(obj)]


def _service_row(obj: Obj) -> list[Any]:
    spec = obj.get("spec") or {}
    t = spec.get("type", "ClusterIP")
    if t == "LoadBalancer":
        ing = dig(obj, "status", "loadBalancer", "ingress") or []
        external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ing) or "<pending>"
    elif t == "ExternalName":
        external = spec.get("externalName", "")
    else:
        external = ",".join(spec.get("externalIPs") or []) or "<none>"
    ports = ",".join(f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}" if p.get("nodePort")
                     else f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "<none>"
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [dig(obj, "metadata", "name"), t, spec.get("clusterIP") or "<none>", external, ports, _age(obj), selector]


def _node_row(obj: Obj) -> list[Any]:
    ready = next((c.get("status") for c in dig(obj, "status", "conditions") or [] if c.get("type") == "Ready"), None)
    status = {"True": "Ready", "False": "NotReady"}.get(ready or "", "Unknown")
    if dig(obj, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    labels = dig(obj, "metadata", "labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    return [dig(obj, "metadata", "name"), status, roles, _age(obj), dig(obj, "status", "nodeInfo", "kubeletVersion") or ""]


def _configmap_row(obj: Obj) -> list[Any]:
    return [dig(obj, "metadata", "name"), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj)]


def _secret_row(obj: Obj) -> list[Any]:
    return [dig(obj, "metadata", "name"), obj.get("type", ""), len(obj.get("data") or {}), _age(obj)]


def _serviceaccount_row(obj: Obj) -> list[Any]:
    return [dig(obj, "metadata", "name"), len(obj.get("secrets") or []), _age(obj)]


def _default_row(obj: Obj) -> list[Any]:
    return [dig(obj, "metadata", "name"), dig(obj, "metadata", "creationTimestamp")]


_PRINTERS: dict[str, tuple[Sequence[Column], Callable[[Obj], list[Any]]]] = {
    "services": ([("Name", "string", "name", 0), ("Type", "string", "", 0), ("Cluster-IP", "string", "", 0),
                  ("External-IP", "string", "", 0), ("Port(s)", "string", "", 0), ("Age", "string", "", 0),
                  ("Selector", "string", "", 1)], _service_row),
    "nodes": ([("Name", "string", "name", 0), ("Status", "string", "", 0), ("Roles", "string", "", 0),
               ("Age", "string", "", 0), ("Version", "string", "", 0)], _node_row),
    "namespaces": ([("Name", "string", "name", 0), ("Status", "string", "", 0), ("Age", "string", "", 0)],
                   _namespace_row),
    "events": ([("Last Seen", "string", "", 0), ("Type", "string", "", 0), ("Reason", "string", "", 0),
                ("Object", "string", "", 0), ("Subobject", "string", "", 1), ("Source", "string", "", 1),
                ("Message", "string", "", 0), ("First Seen", "string", "", 1), ("Count", "string", "", 1),
                ("Name", "string", "name", 1)], _event_row),
    "endpointslices": ([("Name", "string", "name", 0), ("AddressType", "string", "", 0), ("Ports", "string", "", 0),
                        ("Endpoints", "string", "", 0), ("Age", "string", "", 0)], _endpointslice_row),
    "leases": ([("Name", "string", "name", 0), ("Holder", "string", "", 0), ("Age", "string", "", 0)], _lease_row),
    "configmaps": ([("Name", "string", "name", 0), ("Data", "integer", "", 0), ("Age", "string", "", 0)],
                   _configmap_row),
    "secrets": ([("Name", "string", "name", 0), ("Type", "string", "", 0), ("Data", "integer", "", 0),
                 ("Age", "string", "", 0)], _secret_row),
    "serviceaccounts": ([("Name", "string", "name", 0), ("Secrets", "integer", "", 0), ("Age", "string", "", 0)],
                        _serviceaccount_row),
}
_DEFAULT: tuple[Sequence[Column], Callable[[Obj], list[Any]]] = (
    [("Name", "string", "name", 0), ("Created At", "date", "", 0)], _default_row)


def table(plural: str, objects: Sequence[Obj], list_meta: dict[str, Any], include: str | None = None,
          kind: tuple[str, str] = ("", "")) -> dict[str, Any]:
    """A Table; each row carries ``includeObject``'s choice: Metadata (the default, as
    PartialObjectMetadata), Object (the full object: ``kubectl get --sort-by`` asks for it) or None."""
    columns, row = _PRINTERS.get(plural, _DEFAULT)
    rows: list[dict[str, Any]] = []
    for o in objects:
        cells: dict[str, Any] = {"cells": row(o)}
        if include == "Object":
            cells["object"] = {"kind": kind[1], "apiVersion": kind[0], **o} if "kind" not in o else o
        elif include != "None":
            cells["object"] = partial(o)
        rows.append(cells)
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": [{"name": n, "type": t, "format": f, "description": "", "priority": p}
                              for n, t, f, p in columns],
        "rows": rows,
    }
