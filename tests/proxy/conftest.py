from __future__ import annotations

from collections.abc import Iterator

import pytest

from ccm.proxy.engine import ThreadedEngine
from tests.proxy.helpers import Peers, peers


@pytest.fixture(params=[pytest.param(True, id="splice"), pytest.param(False, id="copy")])
def engine(request: pytest.FixtureRequest) -> Iterator[ThreadedEngine]:
    """A running engine, once on the splice path and once on the buffered copy path."""
    with ThreadedEngine(splice=request.param) as e:
        yield e


@pytest.fixture
def backends() -> Iterator[Peers]:
    with peers() as p:
        yield p
