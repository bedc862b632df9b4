"""What initialising a Node changes (upstream's node modifiers), as one pure function.

Every change is idempotent, because upstream applies the modifiers inside a conflict-retry loop
to a fresh copy of the node each time; the result is sent as one full Update (PUT).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from ccm.controllers.node import labels as lb
from ccm.controllers.node.addresses import NodeIPError, desired_addresses
from ccm.controllers.nodeutil import TAINT_UNINITIALIZED, taints_of
from providers.instances import InstanceMetadata

Obj = dict[str, Any]


class InitError(Exception):
    """The node cannot be initialised as the cloud describes it; it stays tainted and is retried."""


def cloud_addresses(meta: InstanceMetadata) -> list[dict[str, str]]:
    return [{"type": a.type, "address": a.address} for a in meta.node_addresses]


def check_provider_id(meta: InstanceMetadata, node: Mapping[str, Any]) -> InstanceMetadata:
    """issues.k8s.io/123024: never untaint without a providerID; keep the node's own when the cloud gives none."""
    if meta.provider_id:
        return meta
    current = str((node.get("spec") or {}).get("providerID") or "")
    if not current:
        raise InitError("cloud provider does not set node provider ID")
    return dataclasses.replace(meta, provider_id=current)


def initialized(node: Mapping[str, Any], meta: InstanceMetadata) -> tuple[Obj, list[str]]:
    """A copy of ``node`` initialised from ``meta``, and warnings to log (labels left alone).

    Raises :class:`InitError` when kubelet's provided node IP is not among the cloud's addresses.
    """
    name = (node.get("metadata") or {}).get("name", "")
    cloud = cloud_addresses(meta)
    try:
        desired_addresses(node, cloud)
    except NodeIPError as exc:
        raise InitError(f"provided node ip for node {name!r} is not valid: {exc}") from exc
    out = copy.deepcopy(dict(node))
    spec = out.setdefault("spec", {})
    if not spec.get("providerID"):
        spec["providerID"] = meta.provider_id
    labels = out.setdefault("metadata", {}).setdefault("labels", {})
    labels.update(lb.well_known_labels(meta.instance_type, meta.zone, meta.region))
    extra, warnings = lb.additional_labels(meta.additional_labels, labels)
    labels.update(extra)
    spec["taints"] = [t for t in taints_of(out) if t.get("key") != TAINT_UNINITIALIZED]
    return out, warnings
