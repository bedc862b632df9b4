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


#: what each reason means and what to do about it (``docs/operations.md`` is generated from this)
DOCS: dict[str, tuple[str, str, str]] = {
    ENSURING: (NORMAL, "The controller is creating or updating the Service's load balancer.", "Nothing."),
    ENSURED: (NORMAL, "The load balancer matches the Service; the status holds its address.", "Nothing."),
    SYNC_FAILED: (WARNING, "Creating or updating the load balancer failed; the message has the cloud's error. "
                           "The controller retries with backoff (5 s doubling to 5 min; throttling: a fixed delay).",
                  "Read the message: a permission error needs the IAM policy in deploy/iam; a quota error a "
                  "raised quota; an error about the Service's settings a fix to the Service."),
    DELETING: (NORMAL, "The Service no longer wants a load balancer (deleted, or no longer type LoadBalancer); "
                       "the controller deletes everything it created for it.", "Nothing."),
    DELETED: (NORMAL, "Everything created for the Service is gone; the finalizer is removed.", "Nothing."),
    DELETE_FAILED: (WARNING, "Deleting failed; the finalizer stays, so nothing leaks, and the controller retries.",
                    "Read the message; if a resource is held by something else (a security group still "
                    "referenced), remove that reference. Never remove the finalizer by hand while the load "
                    "balancer exists: it would be orphaned (the orphan sweep, --gc-period, reports it)."),
    UNAVAILABLE: (WARNING, "No node is eligible as a backend (all excluded, tainted ToBeDeletedByClusterAutoscaler, "
                           "or none registered); the load balancer has no targets.",
                  "Check the nodes: node.kubernetes.io/exclude-from-external-load-balancers labels and taints."),
    UPDATED: (NORMAL, "The node set changed and the load balancer's backends were updated.", "Nothing."),
    UPDATE_FAILED: (WARNING, "Updating the backends after a node change failed; retried at the next node sync.",
                    "Read the message (often a cloud permission or quota)."),
    INVALID_ANNOTATION: (WARNING, "An annotation's value does not parse; the Service gets no cloud call and the load "
                                  "balancer is left as it was.",
                         "Fix the value; the message says what is accepted (docs/annotations.md). The admission "
                         "policy (ccm admission-policy) rejects such values at kubectl apply time."),
    CREATE_ONLY_CHANGED: (WARNING, "A create-only annotation changed; the cloud cannot change it in place, so the "
                                   "existing load balancer keeps the old setting.",
                          "Revert the annotation, or delete and re-create the Service (a new load balancer, "
                          "usually a new address)."),
    INVALID_SOURCE_RANGES: (WARNING, "spec.loadBalancerSourceRanges or the legacy annotation holds something that "
                                     "is not a CIDR; nothing is opened.", "Fix the ranges."),
    ANNOTATION_WARNING: (WARNING, "A value upstream silently replaces by its default (ccm does too), a deprecated "
                                  "alias, or a near miss of a known key.",
                         "Fix the value or key the message names, or remove it."),
    UNSUPPORTED_ANNOTATION: (WARNING, "A declared annotation this provider's adapter does not build as written; the "
                                      "Service gets no cloud call, so nothing differs from what it asks.",
                             "Remove the annotation or use a supported value (the message lists them; "
                             "docs/annotations.md column ccm)."),
}

