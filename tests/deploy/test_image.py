"""The container image: built here the way ``python3 run.py image`` builds it, then run with podman.

Slow (a warm build is ~15-30 s; a cold one debootstraps a Debian base first, ~1.5 min, and
downloads the Python dependencies, ~1 min). Skipped where podman, debootstrap or root are
missing; ``.ci/run`` installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tools import image

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (apt-get install podman)"),
    pytest.mark.skipif(shutil.which("debootstrap") is None,
                       reason="debootstrap is not installed (apt-get install debootstrap)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and podman build --isolation chroot need root"),
]


@pytest.fixture(scope="module")
def built() -> image.Built:
    return image.build(quiet=True)


def _run(built: image.Built, *argv: str, entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [*image.RUN_ARGS, "--read-only"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    return subprocess.run([*cmd, built.image, *argv], capture_output=True, text=True, check=False, timeout=120)


def test_ccm_version_is_the_project_version(built: image.Built) -> None:
    proc = _run(built, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"ccm v{image.project_version()} ("), proc.stdout


def test_controller_help_runs_on_a_read_only_root(built: image.Built) -> None:
    proc = _run(built, "controller", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--cloud-provider" in proc.stdout


def test_runs_as_the_fixed_non_root_user_without_build_tools(built: image.Built) -> None:
    proc = _run(built, "-c", "id -u; id -g; for t in pip pip3 gcc cc make git; do command -v $t; done; "
                             "for t in nft conntrack ccm; do command -v $t; done", entrypoint="/bin/sh")
    lines = proc.stdout.split()
    assert lines[:2] == ["65532", "65532"], proc.stdout + proc.stderr
    assert lines[2:] == ["/usr/sbin/nft", "/usr/sbin/conntrack", "/opt/ccm/bin/ccm"], \
        f"unexpected tools in the image: {lines[2:]}"


def test_the_image_is_labelled_with_its_version(built: image.Built) -> None:
    proc = subprocess.run(["podman", "image", "inspect", "--format",
                           '{{index .Config.Labels "org.opencontainers.image.version"}} {{.Config.User}}',
                           built.image], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == [image.project_version(), "65532:65532"]
