"""Ownership: how a resource says "this cluster made me for that Service", checked before any change.

Every cloud marks its resources (AWS and Azure tags, GCE JSON descriptions, OpenStack tags
or descriptions); the marks differ, the rules do not:

* a resource is ours only when every ownership mark is present with our value;
* a resource with our name and someone else's marks is never adopted, modified or deleted:
  :func:`foreign` builds the error the controller turns into a ``ForeignLoadBalancer`` event;
* user tags (an ``additional-resource-tags`` annotation) are merged under the ownership
  marks, which always win (:func:`merge_tags`), so a user can never make a resource look
  unowned or owned by another Service.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from providers.port import UserError

FOREIGN_REASON = "ForeignLoadBalancer"


@dataclasses.dataclass(frozen=True)
class Owner:
    """The cluster and the Service (``namespace/name``) a resource belongs to."""

    cluster: str
    service: str


def owns(marks: Mapping[str, str], expected: Mapping[str, str]) -> bool:
    """Every expected mark present with its value (extra marks, e.g. user tags, are fine)."""
    return all(marks.get(k) == v for k, v in expected.items())


def merge_tags(user: Mapping[str, str], ownership: Mapping[str, str], *, case_insensitive: bool = False
               ) -> dict[str, str]:
    """User tags plus ownership tags; a user tag naming an ownership key is dropped, never applied.

    ``case_insensitive`` for clouds whose tag keys are (Azure): ``Kubernetes-Cluster-Name``
    then collides with ``kubernetes-cluster-name``.
    """
    fold = str.lower if case_insensitive else str
    reserved = {fold(k) for k in ownership}
    merged = {k: v for k, v in user.items() if fold(k) not in reserved}
    merged.update(ownership)
    return merged


def foreign(kind: str, name: str, owner: Owner) -> UserError:
    """The error for a resource that has our name but not our marks."""
    return UserError(f"{kind} {name} exists but is not tagged as owned by cluster {owner.cluster} for "
                     f"{owner.service}; it is never adopted", reason=FOREIGN_REASON)
