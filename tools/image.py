"""``python3 run.py image``: build the ccm container image on a machine that reaches no image registry.

The ``Containerfile`` defaults to the official slim Python image. Where no registry is reachable
(this project's machines reach only package registries), this builds the same two stages on
local Debian bases instead:

1. ``debootstrap`` a minimal Debian (the suite and mirror apt is configured with here) holding
   Debian's ``python3`` plus the runtime packages the image needs (``nftables``, ``conntrack``,
   ``ca-certificates``); the *build* base also holds ``python3-venv`` (pip's wheel for the venv),
   the *runtime* base has it purged. Both are saved as tarballs in the cache and imported into
   podman, so later builds start at step 2 (``--refresh-base`` starts over).
2. ``podman build --isolation chroot`` with ``--build-arg BASE=... BUILDER_BASE=...`` (plain
   ``podman build`` needs cgroups this machine's sandbox does not give).

Run the result with ``podman --runtime runc run --rm --ulimit nofile=4096:4096 --ulimit
nproc=4096:4096 localhost/ccm:<version> --version`` (``RUN_ARGS``; this sandbox does not let
runc raise rlimits to podman's defaults).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools import ROOT, cache_dir

IMAGE_REPO = "localhost/ccm"
BASE_REPO = "localhost/ccm-debian-python"
#: in both bases: what ccm needs at run time (nft and conntrack for the node proxy's nftables mode)
RUNTIME_PACKAGES = ("python3", "ca-certificates", "netbase", "passwd", "nftables", "conntrack")
#: only in the build base: lets ``python3 -m venv`` bootstrap pip
BUILD_ONLY_PACKAGES = ("python3-venv",)
#: purged from the runtime base (python3-venv and the wheels it pulls in)
PURGE_FOR_RUNTIME = ("python3-venv", "python3.11-venv", "python3-pip-whl", "python3-setuptools-whl")
#: dropped from both bases: nothing at run time reads them
_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
         "usr/share/info", "usr/share/locale", "var/log")
#: bump when the recipe above changes so cached bases are rebuilt
RECIPE = 1
#: how to run the image here: runc, and rlimits no higher than the host's hard limits
RUN_ARGS = ("podman", "--runtime", "runc", "run", "--rm", "--network", "none", "--ulimit", "nofile=4096:4096",
            "--ulimit", "nproc=4096:4096")


@dataclasses.dataclass(frozen=True)
class DebianSource:
    suite: str
    mirror: str


@dataclasses.dataclass(frozen=True)
class Bases:
    runtime: str
    build: str


@dataclasses.dataclass(frozen=True)
class Built:
    image: str
    version: str
    seconds: float
    base_seconds: float
    size_bytes: int


def _log(msg: str) -> None:
    print(f"[image] {msg}", flush=True)


def _run(argv: Sequence[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=True, text=True, **kw)  # type: ignore[call-overload]


def project_version() -> str:
    """The version in pyproject.toml (what ``ccm --version`` reports once installed)."""
    text = (ROOT / "pyproject.toml").read_text()
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not m:
        raise SystemExit("pyproject.toml has no version")
    return m.group(1)


def _host_codename() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return "bookworm"


def _apt_entries() -> list[tuple[list[str], list[str]]]:
    """(URIs, suites) of every ``deb`` entry apt is configured with (one-line and deb822 formats)."""
    entries: list[tuple[list[str], list[str]]] = []
    one_line = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for raw in path.read_text().splitlines():
            words = re.sub(r"\[[^]]*\]", "", raw.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append(([words[1]], [words[2]]))
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                entries.append((fields.get("uris", "").split(), fields.get("suites", "").split()))
    return entries


def debian_source(suite: str | None = None, mirror: str | None = None) -> DebianSource:
    """The Debian suite and mirror to bootstrap from: the host's codename and the apt entry serving it."""
    suite = suite or os.environ.get("CCM_DEBIAN_SUITE") or _host_codename()
    mirror = mirror or os.environ.get("CCM_DEBIAN_MIRROR")
    if not mirror:
        for uris, suites in _apt_entries():
            if suite in suites and uris:
                mirror = uris[0]
                break
    if not mirror:
        raise SystemExit(f"no apt source serves Debian {suite!r}; pass --mirror URL")
    return DebianSource(suite, mirror)


def base_key(source: DebianSource) -> str:
    """Tag of the cached bases: the suite plus a digest of the recipe (not the mirror: same content)."""
    recipe = json.dumps([RECIPE, source.suite, RUNTIME_PACKAGES, BUILD_ONLY_PACKAGES, PURGE_FOR_RUNTIME, _TRIM])
    return f"{source.suite}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"


def _image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0


def _trim(rootfs: Path) -> None:
    for rel in _TRIM:
        target = rootfs / rel
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                elif child.name != "lock":
                    child.unlink()


def _tar(rootfs: Path, out: Path) -> None:
    tmp = out.with_suffix(".partial")
    _run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tmp), "."])
    tmp.replace(out)  # a crash never leaves a half-written tarball under the final name


def _debootstrap(source: DebianSource, build_tar: Path, runtime_tar: Path) -> None:
    """Bootstrap once; save the build base, purge the venv packages, save the runtime base."""
    if shutil.which("debootstrap") is None:
        raise SystemExit("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="ccm-rootfs-", dir=build_tar.parent) as tmp:
        rootfs = Path(tmp, "rootfs")
        include = ",".join((*RUNTIME_PACKAGES, *BUILD_ONLY_PACKAGES))
        _log(f"debootstrap {source.suite} from {source.mirror} (minbase + {include})")
        _run(["debootstrap", "--variant=minbase", f"--include={include}", source.suite, str(rootfs), source.mirror],
             stdout=subprocess.DEVNULL)
        # debootstrap leaves the host's resolv.conf and an apt list pointing at the mirror; keep
        # the list (apt works in derived images), drop host files.
        for leftover in ("etc/resolv.conf", "etc/hostname"):
            (rootfs / leftover).unlink(missing_ok=True)
        _trim(rootfs)
        _tar(rootfs, build_tar)
        _run(["chroot", str(rootfs), "dpkg", "--purge", *PURGE_FOR_RUNTIME], stdout=subprocess.DEVNULL)
        _trim(rootfs)
        _tar(rootfs, runtime_tar)


def ensure_bases(source: DebianSource, *, refresh: bool = False) -> Bases:
    """The two local bases, from podman's store, else the cached tarballs, else debootstrap."""
    key = base_key(source)
    bases = Bases(runtime=f"{BASE_REPO}:{key}", build=f"{BASE_REPO}:{key}-build")
    if not refresh and _image_exists(bases.runtime) and _image_exists(bases.build):
        _log(f"reusing {bases.runtime} and {bases.build}")
        return bases
    cache = cache_dir("image")
    build_tar, runtime_tar = cache / f"{key}-build.tar", cache / f"{key}.tar"
    if refresh or not (build_tar.exists() and runtime_tar.exists()):
        _debootstrap(source, build_tar, runtime_tar)
    else:
        _log(f"importing cached bases from {cache}")
    for tar, ref in ((build_tar, bases.build), (runtime_tar, bases.runtime)):
        _run(["podman", "import", "--change", 'CMD ["/bin/bash"]', str(tar), ref], stdout=subprocess.DEVNULL)
    return bases


def host_ca_bundle() -> str | None:
    """The CA bundle this host's pip trusts, lent to the build (TLS-inspecting proxies), if any."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"),
                      "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def image_id(ref: str) -> str | None:
    proc = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", ref],
                          capture_output=True, text=True, check=False)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def image_size(ref: str) -> int:
    out = _run(["podman", "image", "inspect", "--format", "{{.Size}}", ref], capture_output=True).stdout
    return int(out.strip())


def build(*, source: DebianSource | None = None, tag: str | None = None, refresh_base: bool = False,
          base: str | None = None, quiet: bool = False) -> Built:
    """Build the image; with ``base`` (e.g. the official slim Python image) skip the local Debian bases."""
    if shutil.which("podman") is None:
        raise SystemExit("podman is not installed (apt-get install podman buildah runc)")
    version = project_version()
    image = tag or f"{IMAGE_REPO}:{version}"
    start = time.monotonic()
    if base:
        build_args = [f"BASE={base}"]
    else:
        bases = ensure_bases(source or debian_source(), refresh=refresh_base)
        build_args = [f"BASE={bases.runtime}", f"BUILDER_BASE={bases.build}"]
    base_seconds = time.monotonic() - start
    argv = ["podman", "build", "--isolation", "chroot", "--layers", "-f", str(ROOT / "Containerfile"),
            "-t", image, "--build-arg", f"VERSION={version}"]
    ca_bundle = host_ca_bundle()
    if ca_bundle:
        argv += ["--secret", f"id=ca-bundle,src={ca_bundle}"]
    for arg in build_args:
        argv += ["--build-arg", arg]
    _log(" ".join(argv[:6]) + f" ... -t {image}")
    previous = image_id(image)
    _run([*argv, str(ROOT)], stdout=subprocess.DEVNULL if quiet else None)
    if previous and previous != image_id(image):
        # the image the tag named before, with its untagged parents (a full copy of the venv
        # each); the build stage's images stay, as the cache that makes the next build fast
        subprocess.run(["podman", "rmi", previous], capture_output=True, check=False)
    return Built(image, version, time.monotonic() - start, base_seconds, image_size(image))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run.py image", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--suite", help="Debian suite to bootstrap (default: this host's)")
    p.add_argument("--mirror", help="Debian mirror (default: the apt source serving the suite)")
    p.add_argument("--tag", help=f"image name (default: {IMAGE_REPO}:<version>)")
    p.add_argument("--refresh-base", action="store_true", help="debootstrap again even when cached")
    p.add_argument("--base", help="build on this base image instead (e.g. the official python slim image; "
                                  "needs a reachable registry)")
    args = p.parse_args(argv)
    source = None if args.base else debian_source(args.suite, args.mirror)
    built = build(source=source, tag=args.tag, refresh_base=args.refresh_base, base=args.base)
    _log(f"built {built.image} in {built.seconds:.1f} s (bases {built.base_seconds:.1f} s), "
         f"{built.size_bytes / 1e6:.0f} MB")
    _log(f"try: {' '.join(RUN_ARGS)} {built.image} --version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
