"""The clouds ``ccm plan --live`` is tested against; each cloud's fixtures come from its own tests."""

from tests.emulators.azure.conftest import arm_server
from tests.providers.aws.conftest import moto, moto_server, world
from tests.providers.gcp.conftest import gce, gce_clients, gce_server
from tests.providers.openstack.conftest import _clean, conn_factory, emu

__all__ = ["_clean", "arm_server", "conn_factory", "emu", "gce", "gce_clients", "gce_server", "moto", "moto_server",
           "world"]
