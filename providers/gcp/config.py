"""The upstream ``gce.conf`` (``--cloud-config``) and the ``--gcp-*`` flags, as one frozen ``GceConfig``.

``gce.conf`` is gcfg (git-config syntax): a ``[global]`` section of ``key = value`` lines, keys
case-insensitive, ``#``/``;`` comments, values optionally double-quoted, a key repeated to give
several values (``node-tags``). Only the keys this adapter implements are accepted; any other
key or section is an error naming it (a typo must not silently change behaviour). Flags win over
the file: ``--gcp-project`` over ``project-id``, ``--gcp-region`` over the region of
``local-zone``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

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

_SECTION = re.compile(r"\[\s*([A-Za-z][-.\w]*)\s*(?:\"[^\"]*\")?\s*\]\Z")
_KEY = re.compile(r"([A-Za-z][-\w]*)\s*(?:=\s*(.*))?\Z")
_TRUE, _FALSE = {"true", "yes", "on", "1", ""}, {"false", "no", "off", "0"}


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


def _value(raw: str) -> str:
    raw = re.split(r"\s[#;]", raw, maxsplit=1)[0].strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return raw


def parse_gce_conf(text: str, source: str = "gce.conf") -> dict[str, list[str]]:
    """gcfg text -> {key: [values]} for ``[global]``; unknown sections or keys raise ``ConfigError``."""
    section: str | None = None
    out: dict[str, list[str]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = f"{source}:{lineno}"
        m = _SECTION.match(line)
        if m:
            section = m.group(1).lower()
            if section != "global":
                raise ConfigError(f"{where}: unknown section [{m.group(1)}] (only [global] is read)")
            continue
        m = _KEY.match(line)
        if not m:
            raise ConfigError(f"{where}: cannot parse {line!r}")
        if section is None:
            raise ConfigError(f"{where}: {m.group(1)!r} is outside the [global] section")
        key = m.group(1).lower()
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {m.group(1)!r} in [global]; known: {', '.join(KEYS)}")
        multi, _ = KEYS[key]
        value = _value(m.group(2) or "")
        if key in out and not multi:
            raise ConfigError(f"{where}: {key!r} given twice")
        out.setdefault(key, []).append(value)
    return out


def _bool(key: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"gce.conf: {key} = {value!r} is not a boolean")


def build_config(file_values: Mapping[str, list[str]], *, project: str | None = None,
                 region: str | None = None, endpoint: str | None = None) -> GceConfig:
    """Merge gce.conf values and the flags; raises ``ConfigError`` for what is missing or wrong."""
    one = {k: v[-1] for k, v in file_values.items()}
    project = project or one.get("project-id")
    if not project:
        raise ConfigError("no GCP project: pass --gcp-project or set project-id in gce.conf")
    zone = one.get("local-zone") or None
    if not region and zone:
        region = zone.rsplit("-", 1)[0]
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
