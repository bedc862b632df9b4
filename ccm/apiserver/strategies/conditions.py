"""metav1.Condition-style list validation (ValidateConditions), shared by status strategies."""

from __future__ import annotations

import re
from typing import Any

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.validation import is_qualified_name

_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_STATUSES = ["False", "True", "Unknown"]


def validate_conditions(conditions: Any, path: str) -> list[FieldError]:
    """Service status conditions are metav1.Conditions: type, status, reason, lastTransitionTime."""
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        return [fe.invalid(path, conditions, "must be a list")]
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, c in enumerate(conditions):
        p = f"{path}[{i}]"
        if not isinstance(c, dict):
            errs.append(fe.invalid(p, c, "must be an object"))
            continue
        t = c.get("type") or ""
        if not t:
            errs.append(fe.required(f"{p}.type", "must be set"))
        else:
            errs += [fe.invalid(f"{p}.type", t, m) for m in is_qualified_name(t)]
            if t in seen:
                errs.append(fe.duplicate(f"{p}.type", t))
            seen.add(t)
        status = c.get("status")
        if status not in _STATUSES:
            errs.append(fe.not_supported(f"{p}.status", status, _STATUSES))
        if not c.get("lastTransitionTime"):
            errs.append(fe.required(f"{p}.lastTransitionTime", "must be set"))
        reason = c.get("reason") or ""
        if not reason:
            errs.append(fe.required(f"{p}.reason", "must be set"))
        elif not _REASON.match(reason) or len(reason) > 1024:
            errs.append(fe.invalid(f"{p}.reason", reason,
                                   "a condition reason must start with alphabetic character, optionally "
                                   "followed by a string of alphanumeric characters or '_,:', and must end "
                                   "with an alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  "
                                   "or 'MyName',  or 'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used "
                                   "for validation is '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')"))
        if len(c.get("message") or "") > 32768:
            errs.append(fe.too_long(f"{p}.message", 32768))
    return errs
