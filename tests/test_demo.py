"""``ccm demo`` as a user runs it: a subprocess whose printed URL answers, stopped by SIGINT."""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

URL = re.compile(r"Load balancer: (http://([\d.]+):(\d+)/)")
KUBECONFIG = re.compile(r"export KUBECONFIG=(\S+)")


class Output:
    """Collects a pipe's lines on a thread so reads can have a deadline."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._t = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._t.start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if m := pattern.search(line):
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern.pattern!r} within {timeout} s; output:\n" + "".join(self.lines))
            try:
                got = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if got is None:
                raise AssertionError("demo exited early; output:\n" + "".join(self.lines))
            self.lines.append(got)

    def rest(self, timeout: float) -> str:
        self._t.join(timeout)
        while not self._q.empty():
            line = self._q.get()
            if line is not None:
                self.lines.append(line)
        return "".join(self.lines)


def ccm_command() -> list[str]:
    script = Path(sys.executable).with_name("ccm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ccm"]


@pytest.mark.slow
def test_demo_prints_a_url_that_answers_and_stops_cleanly_on_sigint() -> None:
    prefix = f"127.{random.randint(100, 250)}"
    port = random.randint(40000, 49999)
    proc = subprocess.Popen(
        [*ccm_command(), "demo", "--prefix", prefix, "--port-base", str(port),
         "--node-health-port", str(random.randint(20000, 29999)), "--no-color"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    out = Output(proc.stdout)
    try:
        m = out.wait_for(URL, timeout=60)
        url, vip = m.group(1), m.group(2)
        assert vip.startswith(f"{prefix}.2.") and int(m.group(3)) == port
        kubeconfig = Path(out.wait_for(KUBECONFIG, timeout=5).group(1))
        assert kubeconfig.exists()
        assert "[demo] starting the embedded Kubernetes API server" in "".join(out.lines)
        seen = set()
        for _ in range(9):
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read().decode()
            found = re.search(r"hello from (backend-\d) on (node-\d)", body)
            assert found, body
            seen.add(found.group(1))
        assert len(seen) >= 2, f"the load balancer spread requests over backends: {seen}"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.rest(5)
    assert "[demo] stopping" in text and "[demo] stopped" in text
    assert "Traceback" not in text
    assert not kubeconfig.parent.exists(), "the temp dir with the kubeconfig is removed"
    with pytest.raises(OSError):
        socket.create_connection((vip, port), timeout=2).close()
