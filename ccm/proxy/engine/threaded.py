"""``ThreadedEngine``: a ForwardingEngine on its own loop thread, for callers that live in threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ccm.proxy.engine.config import ListenerConfig
from ccm.proxy.engine.core import ForwardingEngine, ListenerKey

T = TypeVar("T")
CALL_TIMEOUT = 30.0


def new_loop(use_uvloop: bool) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        import uvloop

        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


class ThreadedEngine:
    """The ForwardingEngine API, synchronous and thread-safe (calls are marshalled to the loop)."""

    def __init__(self, *, splice: bool | None = None, use_uvloop: bool = False) -> None:
        self._splice = splice
        self._use_uvloop = use_uvloop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: ForwardingEngine | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> ForwardingEngine:
        if self._engine is None:
            raise RuntimeError("ThreadedEngine is not started")
        return self._engine

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            loop = new_loop(self._use_uvloop)
            self._engine = ForwardingEngine(loop, splice=self._splice)
            self._loop = loop
            self._thread = threading.Thread(target=loop.run_forever, name="ccm-proxy-engine", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, loop, engine = self._thread, self._loop, self._engine
            if thread is None or loop is None or engine is None:
                return
            self._call(engine.close)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=CALL_TIMEOUT)
            loop.close()
            self._thread = self._loop = self._engine = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("ThreadedEngine is not started")
        return self._loop

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the engine's loop and return its result (re-raising its error)."""
        return self._call(fn, *args)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("ThreadedEngine is not started")
        if self._thread is threading.current_thread():
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as e:
                future.set_exception(e)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=CALL_TIMEOUT)

    def listen(self, ip: str, port: int, config: ListenerConfig) -> None:
        self._call(self.engine.listen, ip, port, config)

    def update(self, ip: str, port: int, protocol: str, config: ListenerConfig) -> None:
        self._call(self.engine.update, ip, port, protocol, config)

    def close_listener(self, ip: str, port: int, protocol: str) -> None:
        self._call(self.engine.close_listener, ip, port, protocol)

    def listeners(self) -> list[ListenerKey]:
        return self._call(self.engine.listeners)

    def config_of(self, ip: str, port: int, protocol: str) -> ListenerConfig | None:
        return self._call(self.engine.config_of, ip, port, protocol)

    def stats(self) -> dict[str, int]:
        return self._call(self.engine.stats)

    def __enter__(self) -> ThreadedEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
