"""Flags the way Kubernetes components parse them (pflag and component-base), for every ``ccm`` subcommand.

* booleans accept Go's ``strconv.ParseBool`` forms: ``--leader-elect``, ``--leader-elect=true``,
  ``--leader-elect=false`` (also ``1``/``0``, ``t``/``f``, ``TRUE``/``False`` ...);
* durations are Go durations (``15s``, ``1m30s``, ``500ms``, ``2h``) or plain seconds;
* ``-v N``/``--v=N`` and ``--logging-format text|json`` mean the same in every subcommand;
* ``--version`` prints the version and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
from collections.abc import Sequence
from typing import Any

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|h|m|s)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: what upstream's --version prints is "Kubernetes vX.Y.Z"; ours names the program and the API it speaks
KUBERNETES_VERSION = "v1.36"


def version_string() -> str:
    """The installed distribution's version: pyproject.toml's, which also tags the image."""
    return f"ccm v{importlib.metadata.version('ccm')} (cloud-controller-manager for Kubernetes {KUBERNETES_VERSION})"


def parse_go_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool``: exactly its literals, nothing Python would call truthy."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}: use true or false")


def parse_duration(text: str) -> float:
    """Go-style durations (``15s``, ``1m30s``, ``500ms``) or plain seconds."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pos, value = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            value += float(m.group(1)) * _UNIT[m.group(2)]
            pos = m.end()
        if pos != len(text) or not text:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 15s, 2m, 1h30m") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must not be negative")
    return value


def add_bool(parser: argparse.ArgumentParser, *names: str, default: bool, help: str) -> None:
    """A pflag-style boolean: the bare flag means true, ``--flag=false`` turns it off."""
    parser.add_argument(*names, nargs="?", const=True, default=default, type=parse_go_bool, metavar="BOOL",
                        help=f"{help} (default {str(default).lower()})")


class _Version(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print version information and quit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(version_string())
        parser.exit(0)


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action=_Version)


def add_logging(parser: argparse.ArgumentParser, *, default_v: int = 2) -> None:
    """``-v N`` (klog verbosity: 4 and above adds debug messages) and ``--logging-format``."""
    parser.add_argument("-v", "--v", dest="verbosity", type=int, default=default_v, metavar="N",
                        help=f"log verbosity (the same in every ccm subcommand): 0 warnings, 1-3 info, 4+ debug "
                             f"(default {default_v})")
    parser.add_argument("--logging-format", choices=("text", "json"), default="text",
                        help="text: klog lines on stderr; json: one JSON object per line on stdout, nothing "
                             "else (default text)")
