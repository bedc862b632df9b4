#!/usr/bin/env python3
"""Set-up entry point: creates or reuses ./.venv, then runs the demo or the test suite.

    python3 run.py demo     # the one-command demo (embedded API, controller, proxies, a URL)
    python3 run.py test     # the whole test suite (pytest, plus ruff/mypy/import contracts)
    python3 run.py image    # the container image, built here with podman (see tools/image.py)
    python3 run.py manifests  # regenerate deploy/*.yaml from the Helm chart (see tools/manifests.py)

Needs only python3 (>= 3.11). The virtual environment is rebuilt when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".ccm-installed"


def _digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    if STAMP.exists() and STAMP.read_text() == _digest() and (BIN / "ccm").exists():
        return
    if not (BIN / "python").exists():
        print("[run.py] creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    print("[run.py] installing ccm and its test dependencies into .venv (first run takes a minute)", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test,uvloop]"], check=True)
    STAMP.write_text(_digest())


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test", "ccm", "image", "manifests"):
        print(__doc__)
        return 2
    if sys.argv[1] in ("image", "manifests"):  # stdlib only: podman or helm, not the venv
        sys.path.insert(0, str(ROOT))
        from tools import image, manifests

        return (image.main if sys.argv[1] == "image" else manifests.main)(sys.argv[2:])
    ensure_venv()
    cmd, rest = sys.argv[1], sys.argv[2:]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if cmd == "demo":
        argv = [str(BIN / "ccm"), "demo", *rest]
    elif cmd == "ccm":
        argv = [str(BIN / "ccm"), *rest]
    else:
        # one worker per core, tests of a module kept together (their module fixtures start once);
        # an explicit -n in the arguments wins (e.g. ``python3 run.py test -n 0 tests/kube``)
        parallel = [] if any(a.startswith(("-n", "--numprocesses")) for a in rest) else ["-n", "auto",
                                                                                          "--dist", "loadscope"]
        argv = [str(BIN / "python"), "-m", "pytest", *parallel, *rest]
    os.chdir(ROOT)
    os.execve(argv[0], argv, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
