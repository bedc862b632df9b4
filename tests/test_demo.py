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
REPLY = re.compile(r"hello from (backend-\d) on (node-\d) \(.*?\), forwarded by (node-\d)")
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
@pytest.mark.parametrize("stop_signal", [pytest.param(signal.SIGINT, id="SIGINT"),
                                         pytest.param(signal.SIGTERM, id="SIGTERM")])
def test_demo_prints_a_url_that_answers_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    prefix = f"127.{random.randint(100, 250)}"
    port = random.randint(40000, 49999)
    health_port = random.randint(20000, 29999)
    proc = subprocess.Popen(
        [*ccm_command(), "demo", "--prefix", prefix, "--port-base", str(port),
         "--node-health-port", str(health_port), "--no-color"],
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
            found = REPLY.search(body)
            assert found, body
            backend, node, via = found.groups()
            assert node == via, f"externalTrafficPolicy Local: the backend's own node forwarded ({body})"
            seen.add(backend)
        assert len(seen) >= 2, f"the load balancer spread requests over backends: {seen}"
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.rest(5)
    assert "[demo] stopping" in text and "[demo] stopped" in text
    assert "Traceback" not in text
    assert not kubeconfig.parent.exists(), "the temp dir with the kubeconfig is removed"
    for address in ((vip, port), (f"{prefix}.1.1", health_port), (f"{prefix}.3.1", port)):
        with pytest.raises(OSError):  # load balancer, node proxy and backend all gone
            socket.create_connection(address, timeout=2).close()
