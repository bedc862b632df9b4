"""An OpenStack emulator: Keystone v3, Octavia v2, Neutron v2.0 and Nova v2.1 reads, on one port.

openstacksdk (and so the adapter) talks to it over plain HTTP exactly as to a cloud: it
authenticates against the Keystone endpoint (password or application credential), reads the
service catalog from the token, discovers each service's version document and then calls the
endpoints the catalog names, which all point back here. See ``README.md`` for what is emulated and
the rules enforced; ``OpenStackEmulator`` (``emulator.py``) is the object tests and ``ccm demo`` hold.
"""
