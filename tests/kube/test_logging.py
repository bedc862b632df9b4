"""setup_logging: text and JSON lines."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from ccm.kube.logging import register_secret, setup_from_args, setup_logging, verbosity_level


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("botocore", "kubernetes", "urllib3")}
    yield
    for name, lvl in quiet.items():
        logging.getLogger(name).setLevel(lvl)
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_json_lines_carry_ts_caller_level_logger_msg_and_key():
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
    assert first["level"] == "INFO" and first["logger"] == "ccm.test" and first["v"] == 2
    assert first["msg"] == "shop/web: ensured load balancer" and first["key"] == "shop/web"
    assert isinstance(first["ts"], float) and first["caller"].startswith("test_logging.py:")
    assert "key" not in lines[1] and "ValueError: bad" in lines[1]["err"]


def test_text_format_is_klog():
    out = io.StringIO()
    setup_logging("DEBUG", "text", stream=out)
    logging.getLogger("ccm.test").debug("%s: hello", "ns/a")
    logging.getLogger("ccm.test").warning("careful")
    first, second = out.getvalue().splitlines()
    assert re.fullmatch(r"I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ test_logging\.py:\d+\] ns/a: hello", first), first
    assert second.startswith("W") and second.endswith("] careful")


def test_v_means_the_same_everywhere():
    assert [verbosity_level(v) for v in (0, 1, 2, 3, 4, 10)] == [logging.WARNING] + [logging.INFO] * 3 + [
        logging.DEBUG] * 2


def test_json_goes_to_stdout_and_text_to_stderr(capsys):
    setup_from_args(2, "json")
    logging.getLogger("ccm.test").info("to stdout")
    out, err = capsys.readouterr()
    assert json.loads(out)["msg"] == "to stdout" and err == ""
    setup_from_args(2, "text")
    logging.getLogger("ccm.test").info("to stderr")
    out, err = capsys.readouterr()
    assert out == "" and err.rstrip().endswith("] to stderr")


def test_secrets_are_redacted_and_sdk_loggers_stay_quiet():
    out = io.StringIO()
    setup_logging("DEBUG", "text", stream=out)
    register_secret("hunter2-very-secret")
    log = logging.getLogger("ccm.test")
    log.info("password is %s", "hunter2-very-secret")
    log.info("headers {'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ec2'}")
    log.info("{'X-Amz-Security-Token': b'FwoGZXIvYXdzEXAMPLE'} Authorization: Bearer abc.def.ghi")
    text = out.getvalue()
    for secret in ("hunter2-very-secret", "AKIAIOSFODNN7EXAMPLE", "FwoGZXIvYXdzEXAMPLE", "abc.def.ghi"):
        assert secret not in text, text
    assert text.count("[REDACTED]") >= 4
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("kubernetes.client.rest").getEffectiveLevel() == logging.INFO


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD", "text")
    with pytest.raises(ValueError, match="unknown log format"):
        setup_logging("INFO", "xml")  # type: ignore[arg-type]
