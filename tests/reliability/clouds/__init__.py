"""The clouds the reliability harness runs against, one module each (see ``base``).

``CLOUDS`` maps a provider name to ``module:Class``; the class builds a ``base.CloudFixture``.
Adding a cloud (Azure on the ARM emulator, OpenStack on its emulator) is one module and one
line here; the crash-point sweep, throttling, the bad-input corpus and the orphan sweep then
run against it (tests/reliability/test_providers.py, bench/reliability.py providers).
"""

from __future__ import annotations

import importlib

from tests.reliability.clouds.base import CloudFixture

CLOUDS = {
    "fake": "tests.reliability.clouds.fake:FakeFixture",
    "local": "tests.reliability.clouds.local:LocalFixture",
    "aws": "tests.reliability.clouds.aws:AwsFixture",
    "gcp": "tests.reliability.clouds.gcp:GcpFixture",
}


def fixture(name: str) -> CloudFixture:
    """A new, not yet started fixture for the cloud ``name``."""
    module, _, cls = CLOUDS[name].partition(":")
    return getattr(importlib.import_module(module), cls)()  # type: ignore[no-any-return]
