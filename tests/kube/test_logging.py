"""setup_logging: text and JSON lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from ccm.kube.logging import setup_logging


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_msg_and_key():
    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    log = logging.getLogger("ccm.test")
    log.info("%s: ensured load balancer", "shop/web", extra={"key": "shop/web"})
    log.debug("hidden")
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("plain")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["level"] == "INFO" and first["logger"] == "ccm.test"
    assert first["msg"] == "shop/web: ensured load balancer" and first["key"] == "shop/web"
    assert first["time"].endswith("Z")
    assert "key" not in lines[1] and "ValueError: bad" in lines[1]["exc"]


def test_text_format():
    out = io.StringIO()
    setup_logging("DEBUG", "text", stream=out)
    logging.getLogger("ccm.test").debug("%s: hello", "ns/a")
    assert out.getvalue().rstrip().endswith("DEBUG ccm.test: ns/a: hello")


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD", "text")
    with pytest.raises(ValueError, match="unknown log format"):
        setup_logging("INFO", "xml")  # type: ignore[arg-type]
