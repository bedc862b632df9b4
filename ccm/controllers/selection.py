"""``--controllers`` with k8s.io/controller-manager semantics.

The flag is a list: ``*`` enables every controller that is on by default, ``foo`` enables ``foo``,
``-foo`` disables it. Entries are mapped through the alias table (``service`` ->
``service-lb-controller``; ``-route`` -> ``-node-route-controller``), then validated: anything but
``*`` must name a known controller. When deciding, the list is walked in order and the first
explicit mention wins (``-foo,foo`` disables foo); with no mention a controller runs only if ``*`` is
present (so ``--controllers=cloud-node`` runs only the cloud-node controller). No cloud
controller is disabled by default, so ``*`` means all five. ``orphan-gc`` (ours: the orphan sweep,
see ``ccm.controllers.orphans``) also needs ``--gc-period`` above 0 and a cloud with an inventory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

SERVICE = "service-lb-controller"
CLOUD_NODE = "cloud-node-controller"
CLOUD_NODE_LIFECYCLE = "cloud-node-lifecycle-controller"
ROUTE = "node-route-controller"
ORPHAN_GC = "orphan-gc-controller"

#: canonical name -> the short alias (also the ``name`` label of running_managed_controllers)
ALIASES: dict[str, str] = {
    SERVICE: "service",
    CLOUD_NODE: "cloud-node",
    CLOUD_NODE_LIFECYCLE: "cloud-node-lifecycle",
    ROUTE: "route",
    ORPHAN_GC: "orphan-gc",
}
KNOWN: tuple[str, ...] = tuple(ALIASES)
_BY_ALIAS = {alias: canonical for canonical, alias in ALIASES.items()}
DISABLED_BY_DEFAULT: frozenset[str] = frozenset()
DEFAULT: tuple[str, ...] = ("*",)


def split(values: Iterable[str]) -> list[str]:
    """Flag values (each may be comma-separated, as pflag's string slice) -> entries."""
    return [e.strip() for v in values for e in v.split(",") if e.strip()]


def normalize(entries: Sequence[str]) -> tuple[str, ...]:
    """Map aliases to canonical names and validate; raises ValueError naming the first unknown entry."""
    out: list[str] = []
    for entry in entries:
        if entry == "*":
            out.append(entry)
            continue
        negated = entry.startswith("-")
        bare = entry[1:] if negated else entry
        canonical = _BY_ALIAS.get(bare, bare)
        if canonical not in ALIASES:
            raise ValueError(f'"{bare}" is not in the list of known controllers '
                             f"({', '.join(sorted([*ALIASES, *_BY_ALIAS]))})")
        out.append(("-" if negated else "") + canonical)
    return tuple(out)


def is_enabled(name: str, entries: Sequence[str]) -> bool:
    """``IsControllerEnabled`` for a canonical ``name`` and normalised ``entries``."""
    star = False
    for entry in entries:
        if entry == name:
            return True
        if entry == "-" + name:
            return False
        if entry == "*":
            star = True
    return star and name not in DISABLED_BY_DEFAULT
