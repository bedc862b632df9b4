"""Markdown rendering of the registry: the source of ``docs/annotations.md``.

The output is deterministic (declaration data only, fixed order), so a byte comparison with
the committed file tells whether the docs are stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ccm.annotations.registry import ALL, CATEGORIES, LOAD_BALANCER_TYPES, UPSTREAM, Annotation, CrossCheck
from ccm.annotations.support import AnnotationSupport

TITLES = {
    "common": "Common (every provider)",
    "aws": "AWS",
    "gcp": "GCP",
    "azure": "Azure",
    "openstack": "OpenStack",
    "ibm": "IBM Cloud",
    "baidu": "Baidu CCE",
    "tencent": "Tencent TKE",
    "alibaba": "Alibaba Cloud",
}

INTRO = """\
# Service annotations

<!-- Generated from ccm/annotations/ by `ccm annotations --write`; do not edit by hand. -->

This file is generated from the annotation registry (`ccm/annotations/`), where every annotation
ccm reads is declared once; `ccm annotations --check` fails when it is stale.

Each provider's annotations are grouped by what they configure. Columns: **Example** is a value
the annotation accepts. **Create-only** annotations configure something the cloud cannot change in
place; ccm reports a change of one after creation instead of silently ignoring it. **Applies to**
names the load-balancer types of that cloud the annotation acts on (`all`: every type; for example
AWS `CLB` is the Classic ELB, `NLB` the Network Load Balancer). **Upstream** says who
implements the annotation outside ccm: {legend}. **ccm** says, per ccm provider the annotation
applies to, whether its adapter implements it (`yes`, or only some values or keys) or only
recognises it: an annotation a provider does not implement gets a Warning event
(`UnsupportedAnnotation`) naming key, value and what is supported, and that Service's load
balancer is not touched, so nothing is ever built that differs from what the Service asks.

Invalid values are errors: the load balancer is left unchanged and the Service gets a Warning
event naming the annotation and what it accepts; `ccm admission-policy` turns the same checks into
a ValidatingAdmissionPolicy that rejects them at `kubectl apply` time, and `ccm plan -f` prints them
for a manifest. Rows marked *invalid: warn* reproduce an
upstream that silently falls back to the default; ccm falls back too and emits a Warning event.
"Go ParseBool" booleans accept exactly `1 t T TRUE true True` and `0 f F FALSE false False`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(ann: Annotation) -> str:
    if ann.default_doc:
        return ann.default_doc
    if ann.default is None:
        return "unset"
    if isinstance(ann.default, bool):
        return f"`{str(ann.default).lower()}`"
    if isinstance(ann.default, tuple):
        return "`" + ",".join(ann.default) + "`"
    return f"`{ann.default}`"


def _description(ann: Annotation) -> str:
    parts = [ann.doc]
    others = sorted(ann.providers - {ann.cloud, "*"})
    if others:
        parts.append("Also used by: " + ", ".join(f"`{p}`" for p in others) + ".")
    if ann.aliases:
        parts.append("Deprecated alias: " + ", ".join(f"`{a}`" for a in ann.aliases) + ".")
    if ann.on_invalid == "warn":
        parts.append("*Invalid: warn.*")
    return " ".join(parts)


def _implemented(ann: Annotation, support: Mapping[str, AnnotationSupport | None]) -> str:
    """Per ccm provider the annotation applies to: what its adapter implements."""
    parts = []
    for provider, declared in sorted(support.items()):
        if not (ALL in ann.providers or provider in ann.providers):
            continue
        if declared is None:
            parts.append(f"{provider}: no adapter yet")
            continue
        honoured = declared.of_annotation(ann)
        text = honoured.describe() if honoured is not None else "recognised only"
        if ann.key in declared.handed_off:
            text += "; " + ", ".join(f"`{v}`" for v in sorted(declared.handed_off[ann.key])) + \
                " hand the Service to another controller"
        parts.append(f"{provider}: {text}")
    return "; ".join(parts) or "recognised only (no ccm adapter)"


def _lb_types(ann: Annotation) -> str:
    if ann.lb_types:
        return ", ".join(ann.lb_types)
    return "all" if ann.cloud in LOAD_BALANCER_TYPES else ""


def _table(annotations: Sequence[Annotation], support: Mapping[str, AnnotationSupport | None]) -> list[str]:
    lines = [
        "| Annotation | Example | Type / accepted values | Default | Create-only | Applies to | Upstream | ccm "
        "| Description |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a in annotations:
        example = f"`{a.example}`" if a.example else ""
        cells = (f"`{a.key}`", example, a.parser.describe, _default(a), "yes" if a.create_only else "",
                 _lb_types(a), a.upstream, _implemented(a, support), _description(a))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def render(annotations: Sequence[Annotation], checks: Sequence[CrossCheck],
           support: Mapping[str, AnnotationSupport | None] | None = None) -> str:
    """The whole document: per provider, per what the annotations configure (:data:`CATEGORIES`).

    ``annotations`` come sorted as ``registry.all_annotations``; ``support`` maps each ccm provider
    to its adapter's declaration (None: no adapter yet).
    """
    support = support or {}
    legend = "; ".join(f"`{k}` {v}" for k, v in UPSTREAM.items())
    out = [INTRO.format(legend=legend)]
    out += ["Contents: " + " · ".join(f"[{title}](#{_anchor(title)})" for cloud, title in TITLES.items()
                                     if any(a.cloud == cloud for a in annotations)), ""]
    by_key = {a.key: a for a in annotations}
    for cloud, title in TITLES.items():
        group = [a for a in annotations if a.cloud == cloud]
        if not group:
            continue
        out += [f"## {title}", ""]
        if cloud in LOAD_BALANCER_TYPES:
            out += ["Load-balancer types (column *Applies to*): " + ", ".join(
                f"`{t}`" for t in LOAD_BALANCER_TYPES[cloud]) + ".", ""]
        for category, heading in CATEGORIES.items():
            section = [a for a in group if a.category == category]
            if section:
                out += [f"### {title}: {heading}" if cloud != "common" else f"### {heading}", "",
                        *_table(section, support), ""]
        rules = [c for c in checks if by_key[c.keys[0]].cloud == cloud]
        if rules:
            out += ["Rules between annotations:", ""]
            out += [f"- {c.doc}" for c in rules]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor."""
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")
