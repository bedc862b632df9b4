"""The upstream ``gce.conf`` (``--cloud-config``) and the ``--gcp-*`` flags, as one frozen ``GceConfig``.

``gce.conf`` is gcfg (git-config syntax, read by ``providers.cloudconfig``): a ``[global]`` section
of ``key = value`` lines, keys case-insensitive, ``#``/``;`` comments, values optionally
double-quoted, a key repeated to give several values (``node-tags``). Only the keys this adapter
implements are accepted; any other key or section is an error naming it (a typo must not
silently change behaviour). Flags win over the file: ``--gcp-project`` over ``project-id``,
``--gcp-region`` over the region of ``local-zone``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from providers.cloudconfig import gcfg_entries

#: key -> (multi-valued, kind)
KEYS: dict[str, tuple[bool, str]] = {
    "project-id": (False, "str"),
    "network-name": (False, "str"),
    "subnetwork-name": (False, "str"),
    "node-tags": (True, "str"),
    "node-instance-prefix": (False, "str"),
    "regional": (False, "bool"),
    "multizone": (False, "bool"),
    "local-zone": (False, "str"),
}

_TRUE, _FALSE = {"true", "yes", "on", "1", ""}, {"false", "no", "off", "0"}
#: what a build for offline planning (``ccm plan`` without ``--live``) uses when neither the flags nor
#: gce.conf name them; the planner takes them from the nodes' providerIDs where it can
PLACEHOLDER_PROJECT = "<project>"
PLACEHOLDER_REGION = "<region>"


class ConfigError(ValueError):
    """gce.conf cannot be used as written; the message names the line and key."""


@dataclasses.dataclass(frozen=True)
class GceConfig:
    project: str
    region: str
    network: str = "default"
    subnetwork: str | None = None
    node_tags: tuple[str, ...] = ()
    node_instance_prefix: str = ""
    regional: bool = False
    multizone: bool = False
    local_zone: str | None = None
    endpoint: str | None = None


def parse_gce_conf(text: str, source: str = "gce.conf") -> dict[str, list[str]]:
    """gcfg text -> {key: [values]} for ``[global]``; unknown sections or keys raise ``ConfigError``.

    The syntax is :func:`providers.cloudconfig.gcfg_entries`' (quotes, escapes, comments); what
    gce.conf allows, and the messages naming ``source:line``, are this module's.
    """
    out: dict[str, list[str]] = {}
    try:
        entries = list(gcfg_entries(text, source))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for entry in entries:
        where = f"{source}:{entry.line}"
        if entry.section is None:
            raise ConfigError(f"{where}: {entry.name!r} is outside the [global] section")
        if entry.section.lower() != "global" or entry.subsection:
            shown = entry.section + (f' "{entry.subsection}"' if entry.subsection else "")
            raise ConfigError(f"{where}: unknown section [{shown}] (only [global] is read)")
        if entry.name is None:
            continue
        key = entry.name.lower()
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {entry.name!r} in [global]; known: {', '.join(KEYS)}")
        multi, _ = KEYS[key]
        if key in out and not multi:
            raise ConfigError(f"{where}: {key!r} given twice")
        out.setdefault(key, []).append(entry.value)
    return out


def _bool(key: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"gce.conf: {key} = {value!r} is not a boolean")


def build_config(file_values: Mapping[str, list[str]], *, project: str | None = None,
                 region: str | None = None, endpoint: str | None = None, offline: bool = False) -> GceConfig:
    """Merge gce.conf values and the flags; raises ``ConfigError`` for what is missing or wrong.

    ``offline`` (a build for offline planning): a missing project or region is a placeholder.
    """
    one = {k: v[-1] for k, v in file_values.items()}
    project = project or one.get("project-id") or (PLACEHOLDER_PROJECT if offline else None)
    if not project:
        raise ConfigError("no GCP project: pass --gcp-project or set project-id in gce.conf")
    zone = one.get("local-zone") or None
    if not region and zone:
        region = zone.rsplit("-", 1)[0]
    region = region or (PLACEHOLDER_REGION if offline else None)
    if not region:
        raise ConfigError("no GCP region: pass --gcp-region or set local-zone in gce.conf")
    tags = tuple(t for v in file_values.get("node-tags", []) for t in re.split(r"[,\s]+", v) if t)
    return GceConfig(
        project=project, region=region, network=one.get("network-name") or "default",
        subnetwork=one.get("subnetwork-name") or None, node_tags=tags,
        node_instance_prefix=one.get("node-instance-prefix", ""),
        regional=_bool("regional", one["regional"]) if "regional" in one else False,
        multizone=_bool("multizone", one["multizone"]) if "multizone" in one else False,
        local_zone=zone, endpoint=endpoint or None,
    )
