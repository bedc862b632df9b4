"""The local cloud's state directory: private to the user running the controller.

The VIP table is the local cloud's only durable state; whoever can write its directory
can give a Service's VIP to another or make the controller release addresses. So the
directory is created mode 0700 and, whether new or found, must be a real directory (not a
symlink), owned by this user and writable by nobody else; anything else stops start-up with
a message naming the directory and what is wrong, never a silent fallback.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnsafeStateDirectory(ValueError):
    """The state directory could be changed by another user."""


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) mode 0700, or check the existing one; returns it."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    uid = os.geteuid()
    hint = "remove it, or give the local provider a state-file option in a directory of your own"
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeStateDirectory(f"local provider state directory {path} is a symbolic link; {hint}")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDirectory(f"local provider state directory {path} is not a directory; {hint}")
    if info.st_uid != uid:
        raise UnsafeStateDirectory(f"local provider state directory {path} is owned by uid {info.st_uid}, "
                                   f"not by this user (uid {uid}); {hint}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeStateDirectory(f"local provider state directory {path} is writable by group or others "
                                   f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod go-w it, or {hint}")
    return path
