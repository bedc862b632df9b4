"""Log set-up for every ``ccm`` subcommand, with component-base's formats and ``-v`` meaning.

* ``--logging-format text`` (default): klog's header, to stderr:
  ``I1203 09:15:18.455362   15724 manager.py:123] message`` (I/W/E for info, warning, error).
* ``--logging-format json``: one JSON object per line, to stdout, and nothing else goes to stdout
  (component-base's JSON format: ``ts`` (seconds), ``caller``, ``msg``, ``v``; errors carry ``err``;
  we add ``level``, ``logger`` and, when a record has one, the object ``key``).
* ``-v N``: klog verbosity, the same in ``ccm controller``, ``node-proxy``, ``apiserver`` and ``demo``:
  warnings and errors always show; ccm's info messages are its V(1)-V(2) lines, shown from ``-v 1``
  (the daemons default to 2, the interactive demo to 0); ``-v 4`` and above add debug messages (V(4)).

Secrets never reach a log line. The HTTP stacks of the cloud SDKs and of the Kubernetes client log
request headers and bodies at DEBUG (botocore: the SigV4 ``Authorization`` header naming the access
key id, ``X-Amz-Security-Token``; the Kubernetes client: TokenReview bodies), so those loggers are
pinned at INFO whatever ``-v`` says; and every handler runs :class:`RedactingFilter`, which replaces
any registered secret (:func:`register_secret`: the CLIs register credentials they read from flags,
files and the environment) and well-known credential shapes with ``[REDACTED]``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import Literal, TextIO

#: kept for callers formatting plain text themselves
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
#: loggers whose DEBUG output carries credentials or request bodies: never below INFO
QUIET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "kubernetes", "azure", "google", "msal",
                 "openstack", "keystoneauth", "werkzeug")
#: environment variables whose values are credentials (redacted wherever they appear)
SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET",
              "OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET", "CCM_APISERVER_TOKEN")
REDACTED = "[REDACTED]"
_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b"),  # AWS access key ids
    re.compile(r"(?i)(Credential=)[^/\s,'\"]+"),  # SigV4
    re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*b?['\"]?(?:bearer|basic)\s+)[^'\"\s,}]+"),
    re.compile(r"(?i)([\"']?(?:secret|token|password|secret_access_key)[\"']?\s*[:=]\s*[\"'])[^\"']+"),
)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Redact these exact strings from every log line from now on (empty and tiny values are ignored)."""
    with _secrets_lock:
        _secrets.update(v for v in values if v and len(v) >= 4)


def register_environment_secrets(env: dict[str, str] | None = None) -> None:
    env = dict(os.environ) if env is None else env
    register_secret(*(env.get(name) for name in SECRET_ENV))


def redact(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the record's message (and traceback) with secrets replaced; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def verbosity_level(v: int) -> int:
    """``-v N`` -> the root logger's level: WARNING at 0, INFO from 1, DEBUG from 4 (klog V(4))."""
    return logging.DEBUG if v >= 4 else logging.INFO if v >= 1 else logging.WARNING


def _klog_v(record: logging.LogRecord) -> int:
    return 4 if record.levelno < logging.INFO else 2 if record.levelno < logging.WARNING else 0


class KlogFormatter(logging.Formatter):
    """``Lmmdd hh:mm:ss.uuuuuu pid file:line] msg`` (klog's thread id is the process id for the main thread)."""

    _LETTER = {logging.DEBUG: "I", logging.INFO: "I", logging.WARNING: "W", logging.ERROR: "E",
               logging.CRITICAL: "E"}

    def format(self, record: logging.LogRecord) -> str:
        t = time.localtime(record.created)
        micros = int((record.created % 1) * 1_000_000)
        header = (f"{self._LETTER.get(record.levelno, 'I')}{t.tm_mon:02d}{t.tm_mday:02d} "
                  f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{micros:06d} {record.process or 0:>7d} "
                  f"{record.filename}:{record.lineno}] ")
        text = header + record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line (component-base JSON plus level and logger)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 6),
            "caller": f"{record.filename}:{record.lineno}",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "v": _klog_v(record),
        }
        key = getattr(record, "key", None)
        if key is not None:
            entry["key"] = str(key)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["err"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str | int = "INFO", fmt: Literal["text", "json"] = "text",
                  stream: TextIO | None = None, quiet: Iterable[str] = QUIET_LOGGERS) -> None:
    """Replace the root logger's handlers with one writing ``fmt`` (text: stderr, json: stdout)."""
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (want text or json)")
    handler = logging.StreamHandler(stream or (sys.stdout if fmt == "json" else sys.stderr))
    handler.setFormatter(JsonFormatter() if fmt == "json" else KlogFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in quiet:
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    register_environment_secrets()


def setup_from_args(verbosity: int, fmt: str, stream: TextIO | None = None) -> None:
    """What every CLI calls with its ``-v`` and ``--logging-format``."""
    setup_logging(verbosity_level(verbosity), fmt, stream)  # type: ignore[arg-type]
