"""The engine's per-connection machinery: its nested epoll, lazy dial deadlines, source binding."""

from __future__ import annotations

import asyncio
import collections
import errno
import logging
import select
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from ccm.proxy.engine import Backend, ListenerConfig, ThreadedEngine
from ccm.proxy.engine.deadlines import Deadlines
from ccm.proxy.engine.poller import FAILED, Poller
from ccm.proxy.engine.tcp import SourceBinding
from tests.proxy.helpers import Peers, free_port, who
from tests.util import wait_for


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def run_until(loop: asyncio.AbstractEventLoop, done: Callable[[], bool], timeout: float = 5.0) -> None:
    """Turn the loop until ``done()`` or the deadline (then fail)."""
    async def waiter() -> None:
        while not done():
            await asyncio.sleep(0)  # one loop iteration: lets the epoll callbacks run

    loop.run_until_complete(asyncio.wait_for(waiter(), timeout))


def test_reader_and_writer_fire_and_stop_after_removal(loop: asyncio.AbstractEventLoop) -> None:
    poller = Poller(loop)
    a, b = socket.socketpair()
    calls: list[str] = []
    with a, b:
        poller.add_writer(a.fileno(), lambda: calls.append("w"))
        poller.add_reader(a.fileno(), lambda: calls.append("r"))
        run_until(loop, lambda: "w" in calls)
        assert "r" not in calls  # nothing to read yet
        assert poller.remove_writer(a.fileno()) is True
        assert poller.remove_writer(a.fileno()) is False  # like the loop's: a no-op
        b.send(b"x")
        run_until(loop, lambda: "r" in calls)
        assert poller.remove_reader(a.fileno()) is True
        assert len(poller) == 0
        calls.clear()
        b.send(b"y")
        for _ in range(20):
            loop.run_until_complete(asyncio.sleep(0))
        assert calls == []
    poller.close()


def test_writer_swapped_for_reader_in_place(loop: asyncio.AbstractEventLoop) -> None:
    poller = Poller(loop)
    a, b = socket.socketpair()
    calls: list[str] = []
    with a, b:
        poller.add_writer(a.fileno(), lambda: calls.append("w"))
        run_until(loop, lambda: "w" in calls)
        poller.writer_to_reader(a.fileno(), lambda: calls.append("r"))
        calls.clear()
        for _ in range(20):  # a stays writable: a leftover writer would keep firing
            loop.run_until_complete(asyncio.sleep(0))
        assert calls == []
        b.send(b"x")
        run_until(loop, lambda: "r" in calls)
        assert "w" not in calls
        assert poller.remove_reader(a.fileno()) and len(poller) == 0
    poller.close()


def test_stale_event_of_a_reused_fd_is_not_delivered(loop: asyncio.AbstractEventLoop) -> None:
    """A callback closes another fd of the same batch; a new socket takes its number."""
    poller = Poller(loop)
    a, peer_a = socket.socketpair()
    b, peer_b = socket.socketpair()
    old_b = b.fileno()
    calls: list[str] = []
    fresh: list[socket.socket] = []

    def on_a() -> None:
        calls.append("a")
        poller.remove_reader(a.fileno())
        poller.remove_reader(old_b)
        b.close()
        s1, s2 = socket.socketpair()  # nothing written: must not look readable
        fresh.extend((s1, s2))
        reused = s1 if s1.fileno() == old_b else s2
        assert reused.fileno() == old_b
        poller.add_reader(old_b, lambda: calls.append("new"))

    poller.add_reader(a.fileno(), on_a)
    poller.add_reader(old_b, lambda: calls.append("old b"))
    peer_a.send(b"x")  # a becomes ready first, so its event comes first in the batch
    peer_b.send(b"x")
    run_until(loop, lambda: "a" in calls)
    for _ in range(20):
        loop.run_until_complete(asyncio.sleep(0))
    assert calls == ["a"]
    for s in (a, peer_a, peer_b, *fresh):
        s.close()
    poller.close()


def test_failing_callback_is_logged_and_others_still_run(loop: asyncio.AbstractEventLoop,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    poller = Poller(loop)
    a, b = socket.socketpair()
    ran: list[str] = []

    def boom() -> None:
        poller.remove_writer(a.fileno())
        raise RuntimeError("bug")

    def fine() -> None:
        ran.append("b")
        poller.remove_writer(b.fileno())

    with a, b, caplog.at_level(logging.ERROR, "ccm.proxy.engine.poller"):
        poller.add_writer(a.fileno(), boom)
        poller.add_writer(b.fileno(), fine)
        run_until(loop, lambda: bool(ran))
        assert f"fd {a.fileno()}: writer callback failed" in caplog.text
    poller.close()


def test_refused_connect_wakes_the_writer(loop: asyncio.AbstractEventLoop) -> None:
    """Error and hang-up wake the writer, as the loop's do: a failed dial must be noticed."""
    poller = Poller(loop)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    seen: list[int] = []
    with s:
        assert s.connect_ex(("127.0.0.1", free_port())) == errno.EINPROGRESS
        poller.add_writer(s.fileno(), lambda: seen.append(poller.events))
        run_until(loop, lambda: bool(seen))
        poller.remove_writer(s.fileno())
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    assert seen[0] & FAILED  # what a dial reads instead of SO_ERROR
    poller.close()


def test_completed_connect_is_writable_without_failure_bits(loop: asyncio.AbstractEventLoop) -> None:
    poller = Poller(loop)
    server = socket.create_server(("127.0.0.1", 0))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    seen: list[int] = []
    with server, s:
        s.connect_ex(server.getsockname())
        poller.add_writer(s.fileno(), lambda: seen.append(poller.events))
        run_until(loop, lambda: bool(seen))
        poller.remove_writer(s.fileno())
    assert seen[0] & select.EPOLLOUT and not seen[0] & FAILED
    poller.close()


class FakeTimer:
    def __init__(self, when: float, cb: Callable[[], None]) -> None:
        self.when = when
        self.cb = cb
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """Just the clock and ``call_at`` that Deadlines uses, driven by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[FakeTimer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, cb: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(when, cb)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := sorted((t for t in self.timers if not t.cancelled and t.when <= self.now),
                            key=lambda t: t.when):
            self.timers.remove(due[0])
            due[0].cb()

    def armed(self) -> list[float]:
        return sorted(t.when for t in self.timers if not t.cancelled)


class Owner:
    def __init__(self, name: str, fired: list[tuple[str, int]]) -> None:
        self.name = name
        self.fired = fired

    def expired(self, token: int) -> None:
        self.fired.append((self.name, token))


def test_deadlines_fire_in_order_with_one_timer() -> None:
    loop = FakeLoop()
    deadlines = Deadlines(loop)  # type: ignore[arg-type]
    fired: list[tuple[str, int]] = []
    for i in range(100):
        deadlines.add(0.25, Owner(f"c{i}", fired), i)
        loop.now += 0.001
    assert len(loop.armed()) == 1  # not one timer per dial
    loop.advance(0.1985)  # now = 100.2985: c_i is due at 100.25 + i ms (less 1 ms of slack)
    assert fired == [(f"c{i}", i) for i in range(50)]
    loop.advance(1.0)
    assert len(fired) == 100 and len(deadlines) == 0 and loop.armed() == []


def test_shorter_deadline_added_later_rearms_earlier() -> None:
    loop = FakeLoop()
    deadlines = Deadlines(loop)  # type: ignore[arg-type]
    fired: list[tuple[str, int]] = []
    deadlines.add(2.0, Owner("long", fired), 1)
    deadlines.add(0.25, Owner("short", fired), 2)
    assert loop.armed() == [100.25]
    loop.advance(0.3)
    assert fired == [("short", 2)]
    assert loop.armed() == [102.0]
    loop.advance(2.0)
    assert fired == [("short", 2), ("long", 1)]


def test_deadline_added_while_firing_keeps_earlier_heads_armed() -> None:
    loop = FakeLoop()
    deadlines = Deadlines(loop)  # type: ignore[arg-type]
    fired: list[tuple[str, int]] = []

    class Retry(Owner):
        def expired(self, token: int) -> None:
            super().expired(token)
            deadlines.add(0.5, Owner("retry", fired), 9)  # the next attempt's longer timeout

    deadlines.add(0.25, Retry("first", fired), 1)
    loop.now += 0.1
    deadlines.add(0.25, Owner("second", fired), 2)
    loop.advance(0.16)
    assert fired == [("first", 1)]
    assert loop.armed()[0] == pytest.approx(100.35)  # "second", not the retry's 100.76
    loop.advance(1.0)
    assert fired == [("first", 1), ("second", 2), ("retry", 9)]


def test_source_binding_binds_only_where_the_route_picks_another_address() -> None:
    assert SourceBinding("0.0.0.0").source_for("127.0.0.1") is None  # wildcard: route decides
    assert SourceBinding("127.0.0.1").source_for("127.0.0.1") is None  # route already picks it
    vip = SourceBinding("127.0.0.9")
    assert vip.source_for("127.0.0.1") == "127.0.0.9"
    assert vip.source_for("::1") is None  # other family
    assert vip.source_for("10.1.2.3") is None  # loopback source to a remote backend: martian


def test_churn_leaves_nothing_registered_or_pending(backends: Peers) -> None:
    with ThreadedEngine() as engine:
        addrs = [backends.tcp(n) for n in "ab"]
        port = free_port()
        engine.listen("127.0.0.1", port, ListenerConfig("TCP", tuple(Backend(*a) for a in addrs)))
        seen = collections.Counter(who(("127.0.0.1", port)) for _ in range(40))
        assert seen == {"a": 20, "b": 20}
        wait_for(lambda: engine.stats()["active"] == 0, message="all connections closed")
        ctx = engine.engine._ctx
        assert engine.call(lambda: len(ctx.poller)) == 0
        assert engine.stats()["pipes_in_use"] == 0


def fill_until_blocked(engine: ThreadedEngine, client: socket.socket, timeout: float = 10.0) -> None:
    """Send until the proxy stops reading the client: it holds data the backend will not take."""
    client.setblocking(False)
    chunk = b"x" * (1 << 16)
    splice = engine.stats()["splice"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.send(chunk)
        except BlockingIOError:
            _, writable, _ = select.select([], [client], [], 0.5)
            # splice: the held pipe says so; copy: nobody drained the client's socket for 0.5 s
            if (engine.stats()["pipes_in_use"] == 1) if splice else not writable:
                return
    raise AssertionError("the proxy never stopped reading the client")


def test_connection_dropped_while_backend_is_full_releases_everything(engine: ThreadedEngine) -> None:
    """The backend stops reading, the proxy holds data for it, then the backend resets."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = free_port()
        engine.listen("127.0.0.1", port, ListenerConfig("TCP", (Backend(*server.getsockname()),)))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            backend, _ = server.accept()
            with backend:
                fill_until_blocked(engine, client)
                backend.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            # closed with unread data and linger 0: a reset the proxy notices on the backend socket
            wait_for(lambda: engine.stats()["active"] == 0, message="connection closed after the reset")
    assert engine.stats()["pipes_in_use"] == 0
    ctx = engine.engine._ctx
    assert engine.call(lambda: len(ctx.poller)) == 0
