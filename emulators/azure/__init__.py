"""An Azure Resource Manager emulator: Microsoft.Network (+ the Microsoft.Compute reads a CCM needs).

Split as moto is: ``state.py`` (the store, ETags, long-running operations) and one module per
resource type holding ARM's rules (``loadbalancers.py``, ``publicips.py``,
``securitygroups.py``, ``interfaces.py``, ``vnets.py``), apart from ``wire.py`` (HTTP, routes
as data, ARM's error and LRO shapes) and ``server.py`` (HTTPS with a trustme CA). Request
bodies are checked against azure-mgmt-network's own models (``schema.py``); ``faults.py``
injects throttling, 5xx, lost responses and failed operations. See ``README.md``.
"""

from .faults import Fault, Faults
from .seeding import VirtualMachine
from .server import AzureEmulator
from .state import DEFAULT_LOCATION, DEFAULT_SUBSCRIPTION, ArmState

__all__ = ["DEFAULT_LOCATION", "DEFAULT_SUBSCRIPTION", "ArmState", "AzureEmulator", "Fault", "Faults",
           "VirtualMachine"]
