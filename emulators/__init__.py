"""Emulators of cloud APIs that have no public local server (GCE, ARM, OpenStack), like moto for AWS.

Each cloud is a package split as moto is: state and domain rules (``state.py``/``models.py``) apart
from the wire format (``wire.py``/``responses.py``), routes as data. The controller and the adapters
never import this package (import-linter contract); tests and ``ccm demo`` start an emulator and
point the cloud's own SDK at it over HTTP(S). ``ccm emulator <cloud> --port N`` runs one for people.
"""
