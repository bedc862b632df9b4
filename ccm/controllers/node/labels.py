"""The well-known labels the cloud-node controller writes, and its label rules (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Mapping

INSTANCE_TYPE = "node.kubernetes.io/instance-type"
INSTANCE_TYPE_BETA = "beta.kubernetes.io/instance-type"
ZONE = "topology.kubernetes.io/zone"
ZONE_BETA = "failure-domain.beta.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
REGION_BETA = "failure-domain.beta.kubernetes.io/region"

#: (primary, secondary) for initialised nodes: upstream still treats the beta label as the source
#: ("switch the primary key to GA labels in v1.21" was never done) and copies it to the GA one
RECONCILE_PAIRS = ((ZONE_BETA, ZONE), (REGION_BETA, REGION), (INSTANCE_TYPE_BETA, INSTANCE_TYPE))
#: provider-supplied labels may not claim these namespaces
PROTECTED = re.compile(r"(^|\.)(kubernetes|k8s)\.io/")


def labels_to_reconcile(labels: Mapping[str, str]) -> dict[str, str]:
    """The secondary labels to set so they match their primary (empty: nothing to do)."""
    return {secondary: labels[primary] for primary, secondary in RECONCILE_PAIRS
            if primary in labels and labels.get(secondary) != labels[primary]}


def well_known_labels(instance_type: str, zone: str, region: str) -> dict[str, str]:
    """Both label generations for each non-empty value."""
    out: dict[str, str] = {}
    for value, keys in ((instance_type, (INSTANCE_TYPE, INSTANCE_TYPE_BETA)), (zone, (ZONE, ZONE_BETA)),
                        (region, (REGION, REGION_BETA))):
        if value:
            out.update(dict.fromkeys(keys, value))
    return out


def additional_labels(extra: Mapping[str, str], existing: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Provider labels that may be added, and a warning for each one refused or left alone.

    Keys in the ``kubernetes.io``/``k8s.io`` namespaces are discarded; a key the node already has
    is never overwritten (upstream logs when the values differ).
    """
    out: dict[str, str] = {}
    warnings: list[str] = []
    for key, value in extra.items():
        if PROTECTED.search(key):
            warnings.append(f"discarding label {key}={value}: the kubernetes.io and k8s.io namespaces are reserved")
        elif key in existing:
            if existing[key] != value:
                warnings.append(f"not overwriting label {key}={existing[key]} with the cloud's value {value}")
        else:
            out[key] = value
    return out, warnings
