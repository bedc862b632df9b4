"""The engine API's contract for callers (the node proxy and the local provider)."""

from __future__ import annotations

import pytest

from ccm.proxy.engine import Backend, ForwardingEngine, ListenerConfig, ThreadedEngine
from tests.proxy.helpers import free_port


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"protocol": "SCTP"}, "unsupported protocol", id="sctp"),
    pytest.param({"send_proxy_protocol": 3}, "send_proxy_protocol", id="pp-version"),
    pytest.param({"connect_attempts": 0}, "connect_attempts", id="attempts"),
    pytest.param({"affinity_timeout": 0}, "affinity_timeout", id="affinity-zero"),
])
def test_config_validation(kwargs: dict, message: str) -> None:
    args = {"protocol": "TCP", "backends": ()} | kwargs
    with pytest.raises(ValueError, match=message):
        ListenerConfig(**args)


def test_update_and_close_contract() -> None:
    with ThreadedEngine() as engine:
        port = free_port()
        cfg = ListenerConfig("TCP", (Backend("127.0.0.1", 1),))
        with pytest.raises(KeyError):
            engine.update("127.0.0.1", port, "TCP", cfg)
        engine.listen("127.0.0.1", port, cfg)
        with pytest.raises(OSError):
            engine.listen("127.0.0.1", port, cfg)  # already ours
        with pytest.raises(ValueError, match="does not match"):
            engine.update("127.0.0.1", port, "UDP", cfg)
        new = ListenerConfig("TCP", (Backend("127.0.0.1", 2),), affinity_timeout=5)
        engine.update("127.0.0.1", port, "TCP", new)
        assert engine.config_of("127.0.0.1", port, "TCP") == new
        assert engine.listeners() == [("127.0.0.1", port, "TCP")]
        engine.close_listener("127.0.0.1", port, "TCP")
        engine.close_listener("127.0.0.1", port, "TCP")  # idempotent
        assert engine.listeners() == []
        assert engine.stats()["listeners"] == 0


def test_forwarding_engine_on_a_running_loop() -> None:
    import asyncio

    async def main() -> list:
        engine = ForwardingEngine(splice=False)
        port = free_port()
        engine.listen("127.0.0.1", port, ListenerConfig("UDP", ()))
        listeners = engine.listeners()
        await engine.aclose()
        assert engine.listeners() == []
        return listeners

    assert len(asyncio.run(main())) == 1
