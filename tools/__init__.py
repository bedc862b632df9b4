"""Build and release tooling (stdlib only: ``run.py`` calls it before any virtualenv exists)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cache_dir(*parts: str) -> Path:
    """A directory kept across clones and runs: ``$CCM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ccm``, else ``~/.cache/ccm``.

    Outside the work tree on purpose: CI clones the repository afresh, and a cached Debian base or
    helm binary should survive that.
    """
    base = os.environ.get("CCM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ccm")
    path = Path(base, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
