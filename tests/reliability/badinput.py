"""The bad-input corpus: every annotation the registry declares for a provider, with invalid values
generated from its declared type, must produce a Warning event naming key and value, and no
mutating cloud call (counted at the server).

Values come from hypothesis, per parser type: near misses of what the type accepts (a boolean
spelled ``yes``, an integer one past the range or written ``0x10``, an enum value in the wrong
case, a CIDR without its length, a list with an empty item or one bad item, a key=value list with a
key twice), plus arbitrary text, each kept only if the annotation's own parser refuses it (the
parser is the oracle; the corpus checks what the controller does with a refusal). Generation is
seeded by the annotation's key, so a run is repeatable.

Annotations declared ``on_invalid="warn"`` keep upstream's behaviour (the default is used and the
load balancer is built): their corpus asserts the Warning event naming key and value, and counts
them apart. A type that accepts every string (AWS ``aws-load-balancer-internal``) has no invalid
value and is listed as such.
"""

from __future__ import annotations

import dataclasses
import random
import time
import zlib
from collections.abc import Callable, Sequence

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from ccm.annotations import registry
from ccm.annotations import types as t
from ccm.annotations.registry import PLACEHOLDERS, Annotation
from ccm.kube.client import ApiError
from tests.reliability.providerenv import NAMESPACE, Env, poll

#: printable text: no control characters or surrogates (an annotation value is a JSON string, and a
#: message naming it should be readable)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
Strategy = st.SearchStrategy[str]


def _ints(p: t.Int) -> Strategy:
    bad: list[str] = ["", " ", "1.5", "1e3", "0x10", "+", "-", "٣", "1 ", " 2", "5s", "9" * 25]
    if p.min is not None:
        bad += [str(p.min - 1), str(p.min - 1000)]
    if p.max is not None:
        bad += [str(p.max + 1), str(p.max * 10 + 7)]
    if p.choices:
        bad += [str(c + 1) for c in p.choices]
    return st.sampled_from(bad) | st.integers().map(str)


def _case_variants(values: Sequence[str]) -> Strategy:
    base = st.sampled_from(list(values) or ["x"])
    return st.one_of(base.map(str.upper), base.map(str.swapcase), base.map(lambda v: v + "x"),
                     base.map(lambda v: " " + v), base.map(lambda v: v[:-1]), base.map(lambda v: v + "," + v))


def _strings(p: t.Str) -> Strategy:
    parts: list[Strategy] = [st.sampled_from(["", " ", "\t"])]
    if p.max_len:
        parts.append(st.integers(p.max_len + 1, p.max_len + 20).map(lambda n: "a" * n))
    if p.pattern:
        parts.append(st.sampled_from(["UPPER", "-lead", "trail-", "a b", "a/b/c", "ä", "a..b", "_x_"]))
    return st.one_of(*parts)


def _list_of(p: t.List) -> Strategy:
    item = near_misses(p.item)
    parts: list[Strategy] = [st.sampled_from(["a,,b", ",", ", ,", "a,"]),
                             item.map(lambda v: "10.0.0.0/8," + v), item]
    if not p.blank_is_empty:
        parts.append(st.just(""))
    if p.max_items:
        parts.append(st.just(",".join(f"i{n}" for n in range(p.max_items + 1))))
    return st.one_of(*parts)


def _key_values(p: t.KeyValues) -> Strategy:
    parts: list[Strategy] = [st.sampled_from(["a=b=c", "a=1,a=2", "a=1,,b=2", "=v", ","])]
    if not p.key_only:
        parts.append(st.just("lonely"))
    if p.keys:
        parts.append(st.sampled_from([f"{k}x=1" for k in p.keys] + ["unknown=1"]))
    if p.reserved_prefix:
        parts.append(st.just(f"{p.reserved_prefix}k=v"))
    if p.value is not None:
        value = near_misses(p.value)
        parts.append(value.map(lambda v: f"{p.keys[0] if p.keys else 'k'}={v}"))
    if p.max_items:
        parts.append(st.just(",".join(f"k{n}=v" for n in range(p.max_items + 1))))
    return st.one_of(*parts)


def near_misses(p: t.Parser) -> Strategy:
    """Values close to what ``p`` accepts, by its type (some may still be valid: the caller filters)."""
    if isinstance(p, t.GoBool | t.TrueFalse):
        return st.sampled_from(["yes", "no", "on", "off", "tRUE", "True ", "2", "-1", "", "enabled"]) | _case_variants(
            ["true", "false"])
    if isinstance(p, t.Int):
        return _ints(p)
    if isinstance(p, t.Enum):
        return _case_variants(p.values)
    if isinstance(p, t.Str):
        return _strings(p)
    if isinstance(p, t.IPAddress):
        return st.sampled_from(["300.1.1.1", "1.2.3", "::g", "10.0.0.0/8", "fe80::1%eth0", "", "1.2.3.4.5"])
    if isinstance(p, t.Cidr):
        return st.sampled_from(["10.0.0.0", "10.0.0.0/33", "1.2.3.4/-1", "::/129", "10.0.0.0/8/8", "all"])
    if isinstance(p, t.PortOrKeyword | t.PortRef):
        return st.sampled_from(["0", "65536", "-1", "80 ", "http port", "Http", "1_000", ""])
    if isinstance(p, t.PortList):
        return st.sampled_from(["80,,443", "0", "65536", "http port", ",", "-"])
    if isinstance(p, t.JsonObject):
        return st.sampled_from(["[1]", "{", "1", "null", '"s"', "{'a': 1}"])
    if isinstance(p, t.List):
        return _list_of(p)
    if isinstance(p, t.KeyValues):
        return _key_values(p)
    return st.nothing()


def refuses(ann: Annotation, value: str) -> bool:
    try:
        ann.parse(value)
    except t.AnnotationValueError:
        return True
    return False


def invalid_values(ann: Annotation) -> Strategy:
    """Invalid values for ``ann``: near misses of its type or any text, that its parser refuses."""
    return (near_misses(ann.parser) | TEXT).filter(lambda v: refuses(ann, v))


def draw(ann: Annotation, n: int) -> list[str]:
    """Up to ``n`` distinct invalid values, the same on every run for a key; [] when the type accepts
    everything. Hypothesis generates a few dozen (seeded by the key); ``n`` are picked among them."""
    found: list[str] = []
    key_seed = zlib.crc32(ann.key.encode())

    @seed(key_seed)
    @settings(max_examples=max(30, n * 10), database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(invalid_values(ann))
    def collect(value: str) -> None:
        if value not in found:
            found.append(value)

    try:
        collect()
    except Exception:
        pass
    return random.Random(key_seed).sample(found, min(n, len(found)))


def key_of(ann: Annotation) -> str:
    """A real key for the declaration (a templated key gets an example port and protocol)."""
    if ann.pattern is None:
        return ann.key
    examples = {"port": "80", "protocol": "TCP"}
    return ann.key_for(**{name: examples[name] for name in PLACEHOLDERS if "{" + name + "}" in ann.key})


@dataclasses.dataclass(frozen=True)
class Case:
    key: str
    value: str
    warn_only: bool  # on_invalid="warn": upstream's default is used, with a Warning event


def corpus(provider: str, per_annotation: int) -> tuple[list[Case], list[str]]:
    """(cases, keys with no invalid value) for every annotation declared for ``provider``."""
    cases, accepting = [], []
    for ann in registry.for_provider(provider):
        values = draw(ann, per_annotation)
        if not values:
            accepting.append(ann.key)
        cases += [Case(key_of(ann), v, ann.on_invalid == "warn") for v in values]
    return cases, accepting


@dataclasses.dataclass
class Outcome:
    provider: str
    annotations: int
    cases: int
    named: int  # refusals with a Warning event naming key and value
    api_refused: int  # values the API server refused itself (422 naming the key)
    warn_cases: int
    warn_named: int
    mutating_calls: int  # during the refused cases, counted at the server
    finalized: int  # refused Services that got the finalizer anyway (a cloud call was coming)
    accepting: list[str]
    missing: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return (self.named == self.cases and self.warn_named == self.warn_cases and self.mutating_calls == 0
                and self.finalized == 0)

    def row(self) -> str:
        return (f"| {self.provider} | {self.annotations} | {self.named}/{self.cases} | {self.api_refused} | "
                f"{self.mutating_calls} | "
                f"{self.warn_named}/{self.warn_cases} | {len(self.accepting)} | {self.seconds:.1f} |")


HEADER = ("| provider | annotations | refused with a Warning naming key and value | refused by the API (422) | "
          "mutating calls | warn-policy values: Warning naming key and value (default used, as upstream) | "
          "annotations accepting any value | seconds |\n|---|---|---|---|---|---|---|---|")


def _messages(env: Env) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in env.raw.list(f"/api/v1/namespaces/{NAMESPACE}/events")["items"]:
        if e.get("type") == "Warning":
            out.setdefault(e["involvedObject"]["name"], []).append(e.get("message", ""))
    return out


def _named(case: Case, messages: list[str]) -> bool:
    return any(f'{case.key}="{case.value}"' in m for m in messages)


@dataclasses.dataclass
class Batch:
    names: list[str] = dataclasses.field(default_factory=list)
    #: cases whose Service the API server itself refused (422), e.g. kube-apiserver validates the
    #: source-ranges annotation: the user sees the error at once and the controller never gets it
    api_refused: list[Case] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)


def _batch(env: Env, cases: Sequence[Case], prefix: str, ready: Callable[[str, Case], bool],
           timeout: float) -> Batch:
    """Create one Service per case and wait until its Warning names key and value and ``ready``."""
    out = Batch()
    pending: dict[str, Case] = {}
    for i, case in enumerate(cases):
        name = f"{prefix}-{i}"
        try:
            env.create_service(name, {case.key: case.value})
        except ApiError as exc:
            if exc.status != 422 or case.key not in exc.message:
                raise
            out.api_refused.append(case)
            continue
        out.names.append(name)
        pending[name] = case

    def done() -> bool:
        messages = _messages(env)
        for name in [n for n, c in pending.items() if _named(c, messages.get(n, [])) and ready(n, c)]:
            del pending[name]
        return not pending

    poll(done, timeout)
    out.missing = [f"{c.key}={c.value!r}" for c in pending.values()]
    return out


def run(env: Env, per_annotation: int = 1, *, timeout: float = 60.0) -> Outcome:
    provider = env.cloud.name
    started = time.monotonic()
    instance = env.start(concurrent_service_syncs=4)
    try:
        annotation_provider = env.reader(instance).annotation_provider
        cases, accepting = corpus(annotation_provider, per_annotation)
        refused = [c for c in cases if not c.warn_only]
        tolerated = [c for c in cases if c.warn_only]
        before = env.cloud.mutating_calls()
        bad = _batch(env, refused, "bad", lambda n, c: True, timeout)
        mutating = env.cloud.mutating_calls() - before
        finalized = sum(1 for n in bad.names if ((env.get(n) or {}).get("metadata") or {}).get("finalizers"))
        for n in bad.names:
            env.raw.delete(env.service_path(n))
        warned = _batch(env, tolerated, "tolerated", lambda n, c: env.converged(n, instance), timeout)
        for n in warned.names:
            env.raw.delete(env.service_path(n))
        poll(lambda: all(env.gone(n) for n in [*bad.names, *warned.names]), timeout)
    finally:
        instance.kill()
    return Outcome(provider, len(registry.for_provider(annotation_provider)), len(refused) - len(bad.api_refused),
                   len(refused) - len(bad.api_refused) - len(bad.missing), len(bad.api_refused),
                   len(tolerated) - len(warned.api_refused), len(tolerated) - len(warned.api_refused) -
                   len(warned.missing), mutating, finalized, accepting, [*bad.missing, *warned.missing],
                   time.monotonic() - started)
