"""Compute Engine (compute v1 REST) emulator: ``GceEmulator`` in process, ``ccm emulator gce`` for people.

Layout (moto's split): ``state.py`` holds resources and the rules Compute Engine enforces,
``operations.py`` the operation lifecycle, ``routes.py`` the REST route table as data,
``wire.py`` HTTP, ``errors.py`` Google's errors, ``faults.py`` fault injection,
``discovery.py`` validation against the discovery document, ``emulator.py`` the object that
ties them together. See README.md for what is emulated and how faithfully.
"""

from emulators.gce.emulator import GceEmulator
from emulators.gce.faults import Fault

__all__ = ["Fault", "GceEmulator"]
