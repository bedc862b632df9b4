"""The crash-point sweep: kill the controller right after its k-th mutating call, for every k.

One scenario per cloud variant (AWS: Classic ELB, NLB): create a Service, change a port, add a
Node, remove it, delete the Service; each step waits until the provider would send nothing more
(see providerenv). A probe run without faults counts K, the mutating calls the scenario makes,
and records what the cloud holds after each step. Then for each k in 1..K the scenario runs
again with the crash armed at k:

* the k-th mutating call takes effect and its caller dies: the server (moto's middleware, the GCE
  emulator's faults; the provider boundary for the in-process clouds) answers it with an error
  and refuses every later request of that instance, so it changes nothing more;
* the harness then kills the instance (threads joined, provider closed, all its memory gone) and
  starts a new one, which must converge on its own;
* after every step, the cloud's own listing must hold no resource type more often than in the
  probe run (a duplicate), and after the deletion nothing may be left, by the cloud's listing
  and by the provider's inventory (leftovers).

Why in-process and not a SIGKILLed ``ccm controller``: the cloud cannot tell the difference (the
fence guarantees no request of the dead instance is served after the k-th), the new instance
shares nothing with the old one but the API and the cloud, and a restart costs ~0.1 s instead of
~4 s of imports per k. It also covers the in-process clouds, which a separate process could not
hook. What it does not cover: a torn local write (the local cloud's state file is replaced
atomically, tests/providers/local).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from ccm.kube.resources import NODES
from tests.reliability.clouds.base import types_of
from tests.reliability.providerenv import PORTS, Env, Instance, poll

STEPS = ("create", "update", "node added", "node removed", "delete")
UPDATED_PORTS = (PORTS[0], {**PORTS[1], "port": 9443})
STEP_TIMEOUT = 60.0


@dataclasses.dataclass
class Run:
    """One pass of the scenario, with the crash armed at ``k`` (None: the probe run)."""

    variant: str
    k: int | None
    crashed: bool = False
    #: the step whose mutating calls the crash point falls in (from the probe run)
    phase: str | None = None
    restarts: int = 0
    mutations: int = 0
    #: mutating calls made so far after each step (the probe run tells which step a k falls in)
    after_step: list[int] = dataclasses.field(default_factory=list)
    #: what the cloud held after each step, by resource type, beyond what it held before the run
    holdings: list[Counter[str]] = dataclasses.field(default_factory=list)
    duplicates: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    leftovers: list[str] = dataclasses.field(default_factory=list)
    stuck: str | None = None  # the step that did not converge
    after_fence: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.k is None or self.crashed) and not (self.duplicates or self.missing or self.leftovers or self.stuck or self.after_fence)

    def phase_of(self, k: int) -> str:
        """The step of this (probe) run that made its k-th mutating call."""
        for step, upto in zip(STEPS, self.after_step, strict=False):
            if k <= upto:
                return step
        return STEPS[-1]

    def describe(self) -> str:
        where = f"k={self.k} ({self.phase}{'' if self.crashed else ', no crash'})" if self.k is not None else "probe"
        problems = [f"{label}: {value}" for label, value in (
            ("stuck at", self.stuck), ("duplicates", self.duplicates), ("missing", self.missing),
            ("leftovers", self.leftovers), ("served after the crash", self.after_fence)) if value]
        return f"{self.variant or 'default'} {where}: " + ("ok" if not problems else "; ".join(problems))


def _beyond(now: Counter[str], base: Counter[str]) -> Counter[str]:
    return Counter({t: n - base.get(t, 0) for t, n in now.items() if n - base.get(t, 0) > 0})


class Scenario:
    def __init__(self, env: Env, variant: str, annotations: Mapping[str, str]) -> None:
        self.env = env
        self.variant = variant
        self.annotations = dict(annotations)
        self.counter = 0

    def _act(self, step: str, name: str) -> None:
        env = self.env
        if step == "create":
            env.create_service(name, self.annotations)
        elif step == "update":
            env.raw.patch(env.service_path(name), {"spec": {"ports": [dict(p) for p in UPDATED_PORTS]}}, "merge")
        elif step == "node added":
            env.raw.create(NODES.collection_path(), env.cloud.spare_node())
        elif step == "node removed":
            env.raw.delete(NODES.item_path(None, env.cloud.spare_node()["metadata"]["name"]))
        else:
            env.raw.delete(env.service_path(name))

    def run(self, k: int | None, reference: Run | None = None) -> Run:
        env, faults = self.env, self.env.cloud.faults
        self.counter += 1
        name = f"crash-{self.variant or 'svc'}-{self.counter}"
        faults.reset()
        before = env.cloud.list_all()
        base = types_of(before)
        out = Run(self.variant, k, phase=reference.phase_of(k) if reference is not None and k else None)
        started = time.monotonic()
        if k is not None:
            faults.arm(k)
        current: list[Instance] = [env.start()]
        def restart_if_crashed() -> None:
            if faults.crashed and not out.crashed:
                out.crashed = True
                current[0].kill()
                faults.restarted()
                current[0] = env.start()
                out.restarts += 1

        try:
            for i, step in enumerate(STEPS):
                self._act(step, name)
                if step == "delete":
                    done = poll(lambda: env.gone(name), STEP_TIMEOUT, restart_if_crashed)
                else:
                    done = poll(lambda: not faults.fenced and env.converged(name, current[0]), STEP_TIMEOUT,
                                restart_if_crashed)
                if not done:
                    out.stuck = step
                    break
                held = _beyond(types_of(env.cloud.list_all()), base)
                out.holdings.append(held)
                out.after_step.append(faults.mutations)
                if reference is not None and i < len(reference.holdings):
                    expected = reference.holdings[i]
                    out.duplicates += [f"{step}: {t} x{n} (expected {expected.get(t, 0)})"
                                       for t, n in held.items() if n > expected.get(t, 0)]
                    out.missing += [f"{step}: {t} x{held.get(t, 0)} (expected {n})"
                                    for t, n in expected.items() if held.get(t, 0) < n]
            if out.stuck is None:
                out.leftovers = [*(f"cloud: {x}" for x in env.cloud.list_all() if x not in before),
                                 *(f"inventory: {x}" for x in env.owned(current[0]))]
        finally:
            current[0].kill()
            if out.stuck is not None:  # leave the API as the next run expects it
                with contextlib.suppress(Exception):
                    env.raw.delete(NODES.item_path(None, env.cloud.spare_node()["metadata"]["name"]))
        out.mutations = faults.mutations
        out.after_fence = faults.after_fence
        out.seconds = time.monotonic() - started
        return out


@dataclasses.dataclass
class Sweep:
    variant: str
    probe: Run
    runs: list[Run]

    @property
    def total(self) -> int:
        """K: the mutating calls of the probe run."""
        return self.probe.mutations

    @property
    def passed(self) -> int:
        return sum(1 for r in self.runs if r.ok)

    @property
    def duplicates(self) -> int:
        return sum(len(r.duplicates) for r in self.runs)

    @property
    def leftovers(self) -> int:
        return sum(len(r.leftovers) for r in self.runs)

    def per_phase(self) -> dict[str, int]:
        """How many of the K mutating calls each step makes."""
        out, before = {}, 0
        for step, upto in zip(STEPS, self.probe.after_step, strict=False):
            out[step] = upto - before
            before = upto
        return out


def sample(probe: Run) -> list[int]:
    """A small set of crash points: the first call of each step that makes one, and the last call."""
    points, before = set(), 0
    for upto in probe.after_step:
        if upto > before:
            points.add(before + 1)
        before = upto
    points.add(probe.mutations)
    return sorted(p for p in points if p >= 1)


def sweep(env: Env, variant: str, annotations: Mapping[str, str],
          points: Callable[[Run], Iterable[int]] | None = None) -> Sweep:
    """The probe run, then one run per crash point (every k in 1..K unless ``points`` picks some)."""
    scenario = Scenario(env, variant, annotations)
    probe = scenario.run(None)
    assert probe.ok, probe.describe()
    ks: Sequence[int] = list(points(probe)) if points is not None else range(1, probe.mutations + 1)
    runs = []
    for k in ks:
        runs.append(scenario.run(k, probe))
        if not runs[-1].ok:
            env.reset_cloud()  # the next crash point starts from a clean cloud again
    return Sweep(variant, probe, runs)
