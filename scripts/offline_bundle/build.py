"""Build an offline bundle on the tech lead's machine (``make bundle``); read one (preflight).

Building needs the internet here (PyPI, a Debian mirror), never at the venue: ``uv build`` and
``uv export`` from this checkout, ``pip download`` of the locked requirements as wheels for the
Pi's architecture and every Python asked for (hash-checked against uv.lock), and ``apt-get
--download-only`` of the roles' Debian packages with all their dependencies, resolved natively
for the foreign architecture with a private apt state (no root, no emulation).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from scripts.offline_bundle.manifest import (
    DEBIAN_ARCH,
    DEBS,
    MANIFEST,
    REQUIREMENTS,
    WHEELS,
    Manifest,
    applies,
    parse_manifest,
    parse_requirements,
    wheel_for,
)

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# manylinux glibc levels every supported release has (Bookworm's glibc is 2.36).
MANYLINUX = [f"manylinux_2_{minor}" for minor in range(17, 37)] + ["manylinux2014"]
# Debian packages a node needs beyond the roles' own lists: python3-apt for Ansible's apt
# module (it would fetch it from the internet otherwise).
ANSIBLE_PACKAGES = ["python3-apt"]


@dataclass(frozen=True)
class BuildOptions:
    """What to put in a bundle."""

    out: Path
    """The folder the archive is written to."""
    arch: str = "arm64"
    """Debian's architecture of the Pis (``arm64``: 64-bit Raspberry Pi OS)."""
    suite: str = "trixie"
    """The Debian release of the Pis' packages (``trixie``, ``bookworm``)."""
    pythons: tuple[str, ...] = ("3.13", "3.11")
    """Every Python to carry wheels for (Trixie has 3.13, Bookworm 3.11)."""
    mirror: str = "http://deb.debian.org/debian"
    """The Debian mirror to download packages from."""
    extra_debs: tuple[str, ...] = ()
    """More Debian packages (the inventory's ``common_extra_packages``, CJK fonts...)."""
    work: Path | None = None
    """Where downloads are kept between builds (None: a temporary folder)."""


def sha256_file(path: Path) -> str:
    """The sha256 (hex) of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        for block in iter(lambda: src.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def role_packages(roles: Path) -> list[str]:
    """The Debian packages the roles install (their ``vars/main.yml`` and ``defaults``)."""

    def load(path: Path) -> dict[str, object]:
        data = yaml.safe_load(path.read_text())
        return data if isinstance(data, dict) else {}

    common = load(roles / "common/vars/main.yml")
    audio = load(roles / "audio_node/vars/main.yml")
    display = load(roles / "display_node/vars/main.yml")
    display_defaults = load(roles / "display_node/defaults/main.yml")
    fonts = display_defaults.get("display_node_font_packages", {})
    names: list[object] = [
        *_strings(common.get("common_packages")),
        *_strings(audio.get("audio_node_base_packages")),
        *_strings(audio.get("audio_node_pipewire_packages")),
        *_strings(display.get("display_node_packages")),
        display_defaults.get("display_node_chromium_package"),
        *_strings(fonts.get("default") if isinstance(fonts, dict) else None),
    ]
    return sorted({n for n in names if isinstance(n, str)})


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _run(argv: Sequence[str], **kwargs: object) -> str:
    log.info("bundle: %s", " ".join(argv[:6]) + (" ..." if len(argv) > 6 else ""))
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    out: str = done.stdout
    return out


def _uv() -> str:
    local = ROOT / ".cache/uv-tool/bin/uv"
    return str(local) if local.exists() else "uv"


def _pip() -> list[str]:
    local = ROOT / ".cache/uv-tool/bin/pip"
    return [str(local)] if local.exists() else [sys.executable, "-m", "pip"]


def project_wheel(into: Path) -> Path:
    """Build the project's wheel from this checkout into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    _run([_uv(), "build", "--wheel", "--quiet", "--out-dir", str(into)], cwd=ROOT)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    (wheel,) = into.glob(f"room_captions-{version}-*.whl")
    return wheel


def locked_requirements(into: Path) -> Path:
    """``uv export --frozen --no-dev``: the run-time requirements with uv.lock's hashes (no
    header: it would name the temporary output file, and the same lock must give the same
    file, so the same manifest)."""
    out = into / REQUIREMENTS
    _run(
        [
            _uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--quiet",
            "--no-header", "--format", "requirements-txt", "--output-file", str(out),
        ],
        cwd=ROOT,
    )  # fmt: skip
    return out


def download_wheels(requirements: Path, cache: Path, machine: str, pythons: Iterable[str]) -> None:
    """``pip download`` every locked requirement that applies to each Python on ``machine``
    into ``cache`` (binary wheels only, hashes checked; present files are not fetched again).

    The markers are evaluated here for the target (not for the Python running pip), and each
    pip call gets the pinned names without markers. A Python whose every requirement already
    has a wheel in ``cache`` (with a hash from the lock) asks the index nothing.
    """
    locked = parse_requirements(requirements.read_text())
    cache.mkdir(parents=True, exist_ok=True)
    available = {p.name: sha256_file(p) for p in cache.glob("*.whl")}
    for python in pythons:
        needed = [r for r in locked if applies(r, machine, python)]
        if all(wheel_for(r, available, machine, python) is not None for r in needed):
            log.info("bundle: every wheel for Python %s already downloaded", python)
            continue
        pinned = cache / f"requirements-{python}.txt"
        pinned.write_text(
            "".join(
                f"{r} " + " ".join(f"--hash=sha256:{h}" for h in sorted(r.hashes)) + "\n"
                for r in needed
            )
        )
        platforms = [arg for p in MANYLINUX for arg in ("--platform", f"{p}_{machine}")]
        abi = "cp" + python.replace(".", "")
        _run([
            *_pip(), "download", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--only-binary", ":all:", "--implementation", "cp", "--python-version", python,
            "--abi", abi, "--abi", "abi3", "--abi", "none", *platforms,
            "--require-hashes", "-r", str(pinned), "-d", str(cache),
        ])  # fmt: skip


def pick_wheels(requirements: Path, cache: Path, machine: str, pythons: Iterable[str]) -> set[Path]:
    """The wheels of ``cache`` that install the locked requirements for every Python."""
    locked = parse_requirements(requirements.read_text())
    available = {p.name: sha256_file(p) for p in cache.glob("*.whl")}
    chosen: set[Path] = set()
    for python in pythons:
        for requirement in locked:
            if not applies(requirement, machine, python):
                continue
            name = wheel_for(requirement, available, machine, python)
            if name is None:
                raise RuntimeError(f"no wheel of {requirement} for Python {python} on {machine}")
            chosen.add(cache / name)
    return chosen


def download_debs(
    packages: Sequence[str],
    arch: str,
    suite: str,
    mirror: str,
    into: Path,
    cache: Path | None = None,
) -> list[str]:
    """Download ``packages`` for ``arch`` from ``suite`` with every dependency (from an empty
    package state: nothing is assumed installed) into ``into``, with a private apt state;
    returns the ``.deb`` file names.

    With a ``cache`` folder (``--work``), apt's package lists and the downloaded ``.deb`` files
    are kept there between builds: a build fetches only the lists that changed and the
    ``.deb`` files it does not have yet (a grown package list fetches only the new ones), and
    links the ones this package set needs into ``into``.
    """
    cache = cache.resolve() if cache is not None else None  # apt wants absolute paths
    with tempfile.TemporaryDirectory(prefix="bundle-apt-") as tmp, _locked(cache):
        state = cache / f"apt-{arch}-{suite}" if cache is not None else Path(tmp) / "state"
        archives = cache / f"debs-{arch}-{suite}" if cache is not None else into
        for sub in ("etc/apt.conf.d", "etc/preferences.d", "etc/sources.list.d", "lists/partial"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        for folder in (archives, into, Path(tmp) / "none"):
            (folder / "partial").mkdir(parents=True, exist_ok=True)
        (state / "status").write_text("")
        (state / "etc/sources.list").write_text(
            f"deb [arch={arch} signed-by={KEYRING}] {mirror} {suite} main\n"
        )
        options = {
            "Dir::Etc": state / "etc",
            "Dir::State": state,
            "Dir::State::Lists": state / "lists",
            "Dir::State::status": state / "status",
            "Dir::Cache": state / "cache",
            "APT::Architecture": arch,
            "APT::Architectures::": arch,
            "Debug::NoLocking": "1",
            "Acquire::Languages": "none",
        }
        apt = ["apt-get", "-q", *[a for k, v in options.items() for a in ("-o", f"{k}={v}")]]
        install = ["install", "-y", "--no-install-recommends", *packages]
        _run([*apt, "update"])
        # Every file the set needs (an empty archive folder: apt lists them all), then only
        # the missing ones fetched into ``archives``.
        uris = _run([*apt, "-o", f"Dir::Cache::archives={tmp}/none", "--print-uris", *install])
        needed = debs_to_fetch(uris)
        if archives == into or not all_present(uris, archives):
            _run([*apt, "-o", f"Dir::Cache::archives={archives}", "--download-only", *install])
        else:
            log.info("bundle: every .deb already downloaded (%d)", len(needed))
        for folder in (archives, into):
            shutil.rmtree(folder / "partial", ignore_errors=True)
            (folder / "lock").unlink(missing_ok=True)
        if archives != into:
            for name in needed:
                link_or_copy(archives / name, into / name)
        return needed


# The hashes ``apt-get --print-uris`` gives (from the signed index): apt's name -> hashlib's.
APT_HASHES = {"MD5Sum": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def all_present(print_uris: str, archives: Path) -> bool:
    """Whether every file ``apt-get --print-uris`` names is in ``archives`` with the size and
    hash it gives (checked against the mirror's signed index; a file with a hash apt did not
    give counts as missing: apt fetches it)."""
    for line in print_uris.splitlines():
        fields = line.split()
        if not (len(fields) >= 4 and fields[0].startswith("'") and fields[1].endswith(".deb")):
            continue
        path, size, (kind, _, expected) = archives / fields[1], fields[2], fields[3].partition(":")
        if kind not in APT_HASHES or not path.is_file() or str(path.stat().st_size) != size:
            return False
        digest = hashlib.new(APT_HASHES[kind], usedforsecurity=False)
        with open(path, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != expected.lower():
            return False
    return True


@contextlib.contextmanager
def _locked(cache: Path | None) -> Iterator[None]:
    """Hold ``cache``'s lock file (one build at a time uses its apt state); nothing without."""
    if cache is None:
        yield
        return
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def debs_to_fetch(print_uris: str) -> list[str]:
    """The ``.deb`` file names of ``apt-get --print-uris install`` (``'URI' FILE SIZE HASH``)."""
    names = []
    for line in print_uris.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith("'") and fields[1].endswith(".deb"):
            names.append(fields[1])
    if not names:
        raise RuntimeError(f"apt-get listed no package to download:\n{print_uris[-3000:]}")
    return sorted(names)


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link of ``source`` at ``target`` (a copy across file systems)."""
    if not source.is_file():
        raise RuntimeError(f"apt-get did not download {source.name} into {source.parent}")
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def write_apt_index(debs: Path, controls: Path | None = None) -> None:
    """``Packages`` and ``Release`` for a flat repository of the ``.deb`` files of ``debs``
    (what dpkg-scanpackages writes, with dpkg-deb only). With ``controls``, each package's
    control fields are kept there by file name and size (a ``.deb`` of the archive never
    changes under its name) and read from there next time."""
    stanzas = []
    for deb in sorted(debs.glob("*.deb")):
        size = deb.stat().st_size
        kept = controls / f"{deb.name}.{size}.control" if controls is not None else None
        if kept is not None and kept.is_file():
            control = kept.read_text()
        else:
            control = subprocess.run(
                ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
            ).stdout.rstrip("\n")
            if kept is not None:
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(control)
        stanzas.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {size}\nSHA256: {sha256_file(deb)}\n"
        )
    packages = debs / "Packages"
    packages.write_text("\n".join(stanzas))
    size, digest = packages.stat().st_size, sha256_file(packages)
    (debs / "Release").write_text(
        f"Origin: edge-captions offline bundle\nLabel: edge-captions\n"
        f"SHA256:\n {digest} {size} Packages\n"
    )


def build(options: BuildOptions) -> Path:
    """Build the bundle; returns the archive's path."""
    machine = next(m for m, a in DEBIAN_ARCH.items() if a == options.arch)
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        stage = Path(tmp) / "stage"
        work = options.work or Path(tmp) / "work"
        (stage / WHEELS).mkdir(parents=True)
        wheel = project_wheel(stage / "project")
        for other in (stage / "project").iterdir():  # uv's .gitignore
            if other != wheel:
                other.unlink()
        requirements = locked_requirements(stage)
        wheel_cache = work / f"wheels-{machine}"
        download_wheels(requirements, wheel_cache, machine, options.pythons)
        for path in pick_wheels(requirements, wheel_cache, machine, options.pythons):
            shutil.copy2(path, stage / WHEELS / path.name)
        packages = sorted({*role_packages(ROOT / "ansible/roles"), *ANSIBLE_PACKAGES})
        packages = sorted({*packages, *options.extra_debs})
        download_debs(
            packages, options.arch, options.suite, options.mirror, stage / DEBS, options.work
        )
        controls = options.work / f"controls-{options.arch}" if options.work else None
        write_apt_index(stage / DEBS, controls)
        version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        files = {
            str(p.relative_to(stage)): sha256_file(p)
            for p in sorted(stage.rglob("*"))
            if p.is_file()
        }
        manifest = Manifest(
            project="room-captions",
            version=version,
            machine=machine,
            debian_arch=options.arch,
            suite=options.suite,
            pythons=options.pythons,
            project_wheel=str(wheel.relative_to(stage)),
            debs=tuple(packages),
            files=files,
        )
        (stage / MANIFEST).write_text(manifest.to_json() + "\n")
        options.out.mkdir(parents=True, exist_ok=True)
        name = f"edge-captions-bundle-{version}-{options.suite}-{options.arch}.tar"
        archive = options.out / name
        partial = archive.with_suffix(".tar.part")
        with tarfile.open(partial, "w") as tar:
            tar.add(stage / MANIFEST, arcname=MANIFEST)
            for relative in files:
                tar.add(stage / relative, arcname=relative)
        os.replace(partial, archive)
        return archive


@dataclass(frozen=True)
class Opened:
    """A bundle as read from its archive."""

    manifest: Manifest
    """Its manifest."""
    manifest_text: str
    """The manifest as stored (its sha256 names the bundle)."""
    requirements_text: str
    """Its ``requirements.txt`` (empty when missing)."""
    present: dict[str, str]
    """Every regular file but the manifest: path -> sha256."""


def open_bundle(archive: Path) -> Opened:
    """Read a bundle: its manifest and requirements, and the sha256 of every file.

    Raises ValueError (with a reason for the tech lead) when it is not a bundle at all.
    """
    present: dict[str, str] = {}
    texts: dict[str, str] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                name = member.name.removeprefix("./")
                src = tar.extractfile(member)
                if src is None:
                    continue
                digest = hashlib.sha256()
                data = b""
                for block in iter(lambda: src.read(1 << 20), b""):  # noqa: B023
                    digest.update(block)
                    if name in (MANIFEST, REQUIREMENTS):
                        data += block
                if name in (MANIFEST, REQUIREMENTS):
                    texts[name] = data.decode()
                if name != MANIFEST:
                    present[name] = digest.hexdigest()
    except (OSError, tarfile.TarError) as exc:
        raise ValueError(f"{archive} is not a readable tar archive: {exc}") from exc
    if MANIFEST not in texts:
        raise ValueError(f"{archive} has no {MANIFEST}: not an offline bundle (make bundle)")
    return Opened(
        manifest=parse_manifest(texts[MANIFEST]),
        manifest_text=texts[MANIFEST],
        requirements_text=texts.get(REQUIREMENTS, ""),
        present=present,
    )


def extract_members(archive: Path, names: Iterable[str], into: Path) -> None:
    """Extract the named regular files of the archive into ``into`` (flat, by base name)."""
    into.mkdir(parents=True, exist_ok=True)
    wanted = set(names)
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if name in wanted and member.isfile():
                src = tar.extractfile(member)
                if src is not None:
                    with open(into / Path(name).name, "wb") as out:
                        shutil.copyfileobj(src, out)
