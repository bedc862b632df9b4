"""The clouds ``ccm plan --live`` is tested against; each cloud's fixtures come from its own tests."""

from tests.providers.aws.conftest import moto, moto_server, world

__all__ = ["moto", "moto_server", "world"]
