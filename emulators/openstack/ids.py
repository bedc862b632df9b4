"""Identifiers as each service makes them: Keystone hex UUIDs, dashed UUIDs everywhere else."""

from __future__ import annotations

import uuid


def new_hex() -> str:
    """Keystone ids (users, projects, credentials): 32 hex digits."""
    return uuid.uuid4().hex


def new_uuid() -> str:
    """Neutron, Octavia and Nova ids: the dashed form."""
    return str(uuid.uuid4())
