"""``ccm demo`` as a user runs it: a subprocess whose printed URL answers, stopped by SIGINT."""

from __future__ import annotations

import os
import queue
import random
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.util import wait_for

URL = re.compile(r"Load balancer: (http://([\d.]+):(\d+)/)")
REPLY = re.compile(r"hello from (backend-\d) on (node-\d) \(.*?\), forwarded by (node-\d)")
PATCH = re.compile(r"kubectl patch endpointslice .*")
KUBECONFIG = re.compile(r"export KUBECONFIG=(\S+)")
METRICS = re.compile(r"curl -sk -H \"Authorization: Bearer \$\(cat (\S+)\)\" (https://127\.0\.0\.1:\d+/metrics)")


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


class SecondDemo:
    """``ccm demo`` in-process on addresses a running demo holds: exit code and stderr."""

    result: tuple[int, str] | None = None

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def run(self, prefix: str, port: int, health_port: int) -> None:
        from ccm.cli import main

        self.capsys.readouterr()
        code = main(["demo", "--prefix", prefix, "--port-base", str(port),
                     "--node-health-port", str(health_port), "--no-color"])
        self.result = (code, self.capsys.readouterr().err)


@pytest.fixture
def second_demo(capsys: pytest.CaptureFixture[str]) -> SecondDemo:
    return SecondDemo(capsys)


def test_demo_rejects_bad_flags_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    from ccm.cli import main

    assert main(["demo", "--prefix", "10.0"]) == 2
    assert "must be 127.N" in capsys.readouterr().err
    assert main(["demo", "--port-base", "70000"]) == 2
    assert "must be ports" in capsys.readouterr().err


def ccm_command() -> list[str]:
    script = Path(sys.executable).with_name("ccm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ccm"]


class CloudDemo:
    """``ccm demo --provider <cloud>`` as a subprocess (its output collected), ended by SIGINT; killed on
    the way out if it still runs."""

    def __init__(self, provider: str, nodes: int, env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*ccm_command(), "demo", "--provider", provider, "--nodes", str(nodes), "--no-color"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(env or os.environ, PYTHONUNBUFFERED="1"),
        )
        self.out = Output(self.proc.stdout)

    def interrupt(self, timeout: float = 45) -> str:
        """SIGINT, a clean exit without a traceback; the rest of the output."""
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=timeout) == 0
        rest = self.out.rest(5)
        assert "Traceback" not in rest, rest
        return rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> CloudDemo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


class RunningDemo:
    """A ``ccm demo`` subprocess on random addresses, up once its URL is printed."""

    def __init__(self) -> None:
        self.prefix = f"127.{random.randint(100, 250)}"
        self.port = random.randint(40000, 49999)
        self.health_port = random.randint(20000, 29999)
        self.proc = subprocess.Popen(
            [*ccm_command(), "demo", "--prefix", self.prefix, "--port-base", str(self.port),
             "--node-health-port", str(self.health_port), "--no-color"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        self.out = Output(self.proc.stdout)
        m = self.out.wait_for(URL, timeout=60)
        self.url, self.vip = m.group(1), m.group(2)
        assert self.vip.startswith(f"{self.prefix}.2.") and int(m.group(3)) == self.port
        self.kubeconfig = Path(self.out.wait_for(KUBECONFIG, timeout=5).group(1))

    def get(self) -> tuple[str, ...]:
        """(backend, its node, the node that forwarded) from one curl-like request."""
        with urllib.request.urlopen(self.url, timeout=5) as r:
            body = r.read().decode()
        found = REPLY.search(body)
        assert found, body
        return found.groups()

    def stop(self, sig: signal.Signals) -> str:
        """Send ``sig``; assert a clean exit and that nothing it started still listens."""
        try:
            self.proc.send_signal(sig)
            assert self.proc.wait(timeout=30) == 0
        finally:
            self.kill()
        text = self.out.rest(5)
        assert "[demo] stopping" in text and "[demo] stopped" in text
        assert "Traceback" not in text
        assert not self.kubeconfig.parent.exists(), "the temp dir with the kubeconfig is removed"
        for address in ((self.vip, self.port), (f"{self.prefix}.1.1", self.health_port),
                        (f"{self.prefix}.3.1", self.port)):
            with pytest.raises(OSError):  # load balancer, node proxy and backend all gone
                socket.create_connection(address, timeout=2).close()
        return text

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def printed_kubectl_patch(demo: RunningDemo) -> list[str]:
    argv = shlex.split(demo.out.wait_for(PATCH, timeout=5).group(0))
    argv[0] = str(Path(sys.executable).with_name("kubectl"))
    return argv


@pytest.mark.slow
def test_demo_url_answers_printed_kubectl_works_and_sigint_cleans_up(second_demo: SecondDemo) -> None:
    demo = RunningDemo()
    try:
        assert "[demo] starting the embedded Kubernetes API server" in "".join(demo.out.lines)
        replies = [demo.get() for _ in range(9)]
        assert all(node == via for _, node, via in replies), f"Local policy: the backend's node forwards {replies}"
        assert len({backend for backend, _, _ in replies}) >= 2, f"spread over backends: {replies}"
        # the printed "take backend-1 out of service" command, run as printed with the printed kubeconfig
        patch = subprocess.run(printed_kubectl_patch(demo), capture_output=True, text=True,
                               env=dict(os.environ, KUBECONFIG=str(demo.kubeconfig)), timeout=30, check=False)
        assert patch.returncode == 0, patch.stderr
        # the printed metrics command: the controller's secure port with the printed token file
        token_file, metrics_url = demo.out.wait_for(METRICS, timeout=5).groups()
        assert oct(os.stat(token_file).st_mode & 0o777) == "0o600"
        insecure = ssl._create_unverified_context()
        token = Path(token_file).read_text().strip()
        request = urllib.request.Request(metrics_url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, context=insecure, timeout=10) as r:
            assert "service_controller_loadbalancer_sync_total" in r.read().decode()
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(metrics_url, context=insecure, timeout=10)
        assert denied.value.code == 403
        wait_for(lambda: all(demo.get()[0] != "backend-1" for _ in range(6)), timeout=15,
                 message="node-1 failing its health check and leaving the load balancer")
        second_demo.run(demo.prefix, demo.port, demo.health_port)
        demo.stop(signal.SIGINT)
    finally:
        demo.kill()
    code, err = second_demo.result or (None, "")
    assert code == 1, err
    assert f"node-1: its node proxy's /healthz cannot listen on {demo.prefix}.1.1:{demo.health_port}" in err
    assert "another ccm demo running?" in err and "Traceback" not in err


@pytest.mark.slow
def test_demo_stops_cleanly_on_sigterm() -> None:
    demo = RunningDemo()
    try:
        assert demo.get()
        demo.stop(signal.SIGTERM)
    finally:
        demo.kill()
