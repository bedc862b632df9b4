"""Event reasons and messages (upstream §4), plus our additional Warning reasons."""

from __future__ import annotations

NORMAL = "Normal"
WARNING = "Warning"

ENSURING = "EnsuringLoadBalancer"
ENSURED = "EnsuredLoadBalancer"
SYNC_FAILED = "SyncLoadBalancerFailed"
DELETING = "DeletingLoadBalancer"
DELETED = "DeletedLoadBalancer"
DELETE_FAILED = "DeleteLoadBalancerFailed"
UNAVAILABLE = "UnAvailableLoadBalancer"
UPDATED = "UpdatedLoadBalancer"
UPDATE_FAILED = "UpdateLoadBalancerFailed"
# ours (not upstream)
INVALID_ANNOTATION = "InvalidAnnotation"
CREATE_ONLY_CHANGED = "CreateOnlyAnnotationChanged"
INVALID_SOURCE_RANGES = "InvalidLoadBalancerSourceRanges"
ANNOTATION_WARNING = "AnnotationWarning"
UNSUPPORTED_ANNOTATION = "UnsupportedAnnotation"

MSG_ENSURING = "Ensuring load balancer"
MSG_ENSURED = "Ensured load balancer"
MSG_DELETING = "Deleting load balancer"
MSG_DELETED = "Deleted load balancer"
MSG_NO_NODES = "There are no available nodes for LoadBalancer"
MSG_UPDATED = "Updated load balancer with new hosts"
