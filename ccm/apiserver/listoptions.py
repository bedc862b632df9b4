"""ListOptions checks kube-apiserver makes before any list or watch (metainternalversion validation).

Failures are a 422 on the ``ListOptions.meta.k8s.io`` kind, as upstream's handler reports them.
The WatchList feature (``sendInitialEvents``) is on, as in kube-apiserver v1.36.
"""

from __future__ import annotations

from collections.abc import Mapping

from ccm.apiserver import errors
from ccm.apiserver import fielderrors as fe

EXACT = "Exact"
NOT_OLDER_THAN = "NotOlderThan"


def _invalid(errs: list[fe.FieldError]) -> errors.APIError:
    return errors.invalid("ListOptions", "", errs, "meta.k8s.io")


def validate_list(q: Mapping[str, str]) -> None:
    errs: list[fe.FieldError] = []
    match = q.get("resourceVersionMatch") or ""
    rv = q.get("resourceVersion") or ""
    if match:
        if not rv:
            errs.append(fe.forbidden("resourceVersionMatch",
                                     "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if q.get("continue"):
            errs.append(fe.forbidden("resourceVersionMatch",
                                     "resourceVersionMatch is forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            errs.append(fe.not_supported("resourceVersionMatch", match, [EXACT, NOT_OLDER_THAN, ""]))
        if match == EXACT and rv == "0":
            errs.append(fe.forbidden("resourceVersionMatch",
                                     'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if "sendInitialEvents" in q:
        errs.append(fe.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    if errs:
        raise _invalid(errs)


def send_initial_events(q: Mapping[str, str]) -> bool | None:
    """The watch's ``sendInitialEvents`` (None when absent), after upstream's watch checks."""
    errs: list[fe.FieldError] = []
    match = q.get("resourceVersionMatch") or ""
    raw = q.get("sendInitialEvents")
    send: bool | None = None
    if raw is not None:
        if raw not in ("true", "false", "1", "0"):
            raise errors.bad_request(f'sendInitialEvents: Invalid value: "{raw}": strconv.ParseBool: parsing '
                                     f'"{raw}": invalid syntax')
        send = raw in ("true", "1")
        if match != NOT_OLDER_THAN:
            errs.append(fe.forbidden("resourceVersionMatch",
                                     f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}"))
    if match:
        if send is None:
            errs.append(fe.forbidden("resourceVersionMatch",
                                     "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
        if match != NOT_OLDER_THAN:
            errs.append(fe.not_supported("resourceVersionMatch", match, [NOT_OLDER_THAN]))
        if q.get("continue"):
            errs.append(fe.forbidden("resourceVersionMatch",
                                     "resourceVersionMatch is forbidden when continue is provided"))
    if errs:
        raise _invalid(errs)
    return send
