"""coordination.k8s.io/v1 Leases: the leader-election lock; plain spec, no status."""

from __future__ import annotations

from ccm.apiserver import fielderrors as fe
from ccm.apiserver import timefmt
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy, dig


class LeaseStrategy(Strategy):
    group = "coordination.k8s.io"
    plural = "leases"
    singular = "lease"
    kind = "Lease"
    model = "V1Lease"
    allow_create_on_update = True
    #: leaseStrategy.AllowUnconditionalUpdate: a lock must never be overwritten blind
    allow_unconditional_update = False

    def default(self, obj: Obj) -> None:
        for key in ("acquireTime", "renewTime"):
            timefmt.normalize(obj.get("spec"), key, micro=True)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        duration = dig(obj, "spec", "leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            errs.append(fe.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        transitions = dig(obj, "spec", "leaseTransitions")
        if transitions is not None and (not isinstance(transitions, int) or transitions < 0):
            errs.append(fe.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
        strategy = dig(obj, "spec", "strategy")
        if strategy is not None and strategy not in ("OldestEmulationVersion",):
            errs.append(fe.not_supported("spec.strategy", strategy, ["OldestEmulationVersion"]))
        if dig(obj, "spec", "preferredHolder") and not strategy:
            errs.append(fe.forbidden("spec.preferredHolder", "preferredHolder can only be set when strategy is set"))
        return errs
