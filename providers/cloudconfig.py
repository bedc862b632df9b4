"""``--cloud-config``: each provider reads the file with its own upstream's semantics.

A provider package may define ``parse_cloud_config(text: str, source: str) -> dict[str, str]``
turning its upstream file format into provider options (AWS: gcfg with ``[Global]`` keys such as
``KubernetesClusterTag``, ``VPC``, ``RoleARN``); a key it does not know, or cannot honour, is an
error naming it. Providers without one read :func:`parse_plain`: ``key = value`` lines of their
own options, optionally under ``[Global]``.

:func:`read_gcfg` is the gcfg (git-config) reader upstream's files use (gopkg.in/gcfg.v1):
``[section]`` and ``[section "subsection"]`` headers, case-insensitive section and variable names,
``name = value`` with optional double quotes (``\\"``, ``\\\\``, ``\\n``, ``\\t`` escapes), ``;`` and
``#`` comments outside quotes, a bare ``name`` meaning ``true``, repeated names collected in order.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator

#: (section, subsection or "") -> lower-cased variable name -> its values in order
Gcfg = dict[tuple[str, str], dict[str, list[str]]]
CloudConfigParser = Callable[[str, str], dict[str, str]]
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "b": "\b"}


def _value(raw: str, where: str) -> str:
    """A gcfg value: quotes joined, escapes applied, a comment outside quotes ends it."""
    out: list[str] = []
    quoted = False
    pending_space = ""
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            if i + 1 >= len(raw) or raw[i + 1] not in _ESCAPES:
                raise ValueError(f"{where}: invalid escape in value")
            out.append(pending_space + _ESCAPES[raw[i + 1]])
            pending_space = ""
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c in ";#":
            break
        elif not quoted and c.isspace():
            pending_space += c if out else ""
        else:
            out.append(pending_space + c)
            pending_space = ""
        i += 1
    if quoted:
        raise ValueError(f"{where}: unterminated quote")
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class GcfgEntry:
    """One line of a gcfg file that means something: a section header (``name`` None) or a variable.

    Names are as written (gcfg compares them case-insensitively); ``section`` is None for a
    line before any header (its name is not checked then), which :func:`read_gcfg` refuses and a
    reader of one upstream file may word its own way (line and text are there for its messages).
    """

    line: int
    #: the line as written, stripped
    text: str
    section: str | None
    subsection: str
    name: str | None = None
    value: str = ""


def gcfg_entries(text: str, source: str = "cloud config") -> Iterator[GcfgEntry]:
    """Every header and variable of ``text`` in order; syntax errors raise ValueError naming the line."""
    section: str | None = None
    sub = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{source}: line {number}"
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                raise ValueError(f"{where}: unterminated section header {line!r}")
            header = line[1:end].strip()
            section, _, sub = header.partition(" ")
            sub = sub.strip()
            if sub and not (len(sub) >= 2 and sub[0] == sub[-1] == '"'):
                raise ValueError(f"{where}: subsection names are quoted: [{section} \"{sub}\"]")
            sub = sub[1:-1] if sub else ""
            yield GcfgEntry(number, line, section, sub)
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if section is None:
            yield GcfgEntry(number, line, None, "", name)
            continue
        if not (name and name[0].isalpha() and all(ch.isalnum() or ch == "-" for ch in name)):
            raise ValueError(f"{where}: invalid variable name {name!r}")
        yield GcfgEntry(number, line, section, sub, name, _value(value.strip(), where) if sep else "true")


def read_gcfg(text: str, source: str = "cloud config") -> Gcfg:
    sections: Gcfg = {}
    for entry in gcfg_entries(text, source):
        if entry.section is None:
            raise ValueError(f"{source}: line {entry.line}: {entry.text!r} is outside any [section]")
        current = sections.setdefault((entry.section.lower(), entry.subsection), {})
        if entry.name is not None:
            current.setdefault(entry.name.lower(), []).append(entry.value)
    return sections


def parse_plain(text: str, source: str = "cloud config") -> dict[str, str]:
    """``key = value`` provider options; a ``[Global]`` header is allowed, any other section is an error."""
    options: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            if line.lower().replace(" ", "") != "[global]":
                raise ValueError(f"{source}: line {number}: unknown section {line}")
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{source}: line {number}: expected key = value")
        options[key.strip()] = _value(value.strip(), f"{source}: line {number}")
    return options


def parser_for(provider: str) -> CloudConfigParser:
    """The provider's own reader, or :func:`parse_plain` (providers are packages named after themselves)."""
    try:
        module = importlib.import_module(f"providers.{provider}")
    except ImportError:
        return parse_plain
    parser: CloudConfigParser = getattr(module, "parse_cloud_config", parse_plain)
    return parser


def load_cloud_config(provider: str, path: str) -> dict[str, str]:
    """Read ``path`` for ``provider``; OSError and ValueError carry the path and the offending key or line."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parser_for(provider)(text, path)
