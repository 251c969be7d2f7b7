"""What an offline bundle holds and whether it fits a Pi: pure decisions, no I/O.

A bundle is one tar archive::

    manifest.json            this module's :class:`Manifest` (arch, Pythons, suite, files)
    requirements.txt         ``uv export --frozen --no-dev``: every locked run-time requirement
                             with the lock's sha256 hashes and environment markers
    project/<wheel>          the project's own wheel
    wheels/*.whl             the requirements as wheels for every Python of the manifest
    debs/*.deb, Packages,    the Debian packages the roles install, with their dependencies,
    Release                  as a flat apt repository

:func:`check_bundle` answers, before anything on the Pi changes, whether a bundle can install
there: the right architecture, Python and Debian release, every file intact, and a wheel for
every locked requirement that applies to that Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.markers import InvalidMarker, Marker
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

FORMAT = 1
MANIFEST = "manifest.json"
REQUIREMENTS = "requirements.txt"
WHEELS = "wheels"
DEBS = "debs"

# uname -m (Ansible's ``ansible_architecture``) -> Debian's architecture name.
DEBIAN_ARCH = {"aarch64": "arm64", "x86_64": "amd64", "armv7l": "armhf", "armv6l": "armhf"}


class ManifestError(ValueError):
    """A manifest that cannot be read (not JSON, a field missing or of the wrong type)."""


@dataclass(frozen=True)
class Target:
    """The Pi a bundle is meant for, as Ansible's facts describe it."""

    machine: str
    """``uname -m``: ``aarch64`` on 64-bit Raspberry Pi OS, ``armv7l`` on 32-bit."""
    python: str
    """The system Python's ``major.minor`` (the virtual environment's), e.g. ``3.13``."""
    suite: str
    """The Debian release's code name: ``trixie``, ``bookworm``."""


@dataclass(frozen=True)
class Manifest:
    """``manifest.json`` of a bundle."""

    project: str
    """The project's distribution name (``room-captions``)."""
    version: str
    """The project's version."""
    machine: str
    """``uname -m`` of the Pis it is for (``aarch64``)."""
    debian_arch: str
    """Debian's name of that architecture (``arm64``)."""
    suite: str
    """The Debian release its packages come from (``trixie``)."""
    pythons: tuple[str, ...]
    """Every Python (``major.minor``) it holds wheels for."""
    project_wheel: str
    """Path of the project's wheel inside the bundle."""
    debs: tuple[str, ...]
    """The Debian packages asked for (their dependencies are in the repository too)."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Every file of the bundle but the manifest: path -> sha256 (hex)."""

    def to_json(self) -> str:
        """The manifest as written into the bundle."""
        return json.dumps(
            {
                "format": FORMAT,
                "project": self.project,
                "version": self.version,
                "machine": self.machine,
                "debian_arch": self.debian_arch,
                "suite": self.suite,
                "pythons": list(self.pythons),
                "project_wheel": self.project_wheel,
                "debs": list(self.debs),
                "files": dict(sorted(self.files.items())),
            },
            indent=1,
        )


def parse_manifest(text: str) -> Manifest:
    """Read ``manifest.json``; :class:`ManifestError` says what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{MANIFEST} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{MANIFEST} is not a JSON object")
    if data.get("format") != FORMAT:
        raise ManifestError(
            f"{MANIFEST} has format {data.get('format')!r}; this checkout reads format {FORMAT}"
            " (build the bundle again with this checkout's `make bundle`)"
        )

    def text_field(name: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise ManifestError(f"{MANIFEST}: {name!r} must be a non-empty string")
        return value

    def list_field(name: str) -> tuple[str, ...]:
        value = data.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ManifestError(f"{MANIFEST}: {name!r} must be a list of strings")
        return tuple(value)

    files = data.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise ManifestError(f"{MANIFEST}: 'files' must map paths to sha256 strings")
    return Manifest(
        project=text_field("project"),
        version=text_field("version"),
        machine=text_field("machine"),
        debian_arch=text_field("debian_arch"),
        suite=text_field("suite"),
        pythons=list_field("pythons"),
        project_wheel=text_field("project_wheel"),
        debs=list_field("debs"),
        files=files,
    )


@dataclass(frozen=True)
class Requirement:
    """One locked requirement of ``uv export``'s output."""

    name: str
    """Its canonical name (``pyyaml``, not ``PyYAML``)."""
    version: str
    """The locked version (``==``)."""
    marker: str | None
    """Its environment marker, if any (``python_full_version >= '3.13'``)."""
    hashes: frozenset[str]
    """The lock's sha256 hashes of its files (every platform's)."""

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")


def parse_requirements(text: str) -> list[Requirement]:
    """The requirements of a ``uv export --format requirements-txt`` file (pinned, hashed).

    Raises ValueError for a line that is not ``name==version [; marker]`` (an unpinned or
    editable requirement has no place in a lock export).
    """
    joined = re.sub(r"\\\n", " ", text)
    requirements = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        options = re.findall(r"--hash=sha256:([0-9a-fA-F]{64})", line)
        spec = re.sub(r"--hash=\S+", "", line).strip()
        match = _REQUIREMENT.match(spec)
        if match is None:
            raise ValueError(f"not a locked requirement: {spec!r}")
        name, version, marker = match.groups()
        requirements.append(
            Requirement(
                name=canonicalize_name(name),
                version=version,
                marker=marker.strip() if marker else None,
                hashes=frozenset(h.lower() for h in options),
            )
        )
    return requirements


def marker_environment(machine: str, python: str) -> dict[str, str]:
    """The environment markers of CPython ``python`` (``3.13``) on Linux ``machine``."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": "linux",
    }


def applies(requirement: Requirement, machine: str, python: str) -> bool:
    """Whether the requirement is needed on CPython ``python`` on ``machine``."""
    if requirement.marker is None:
        return True
    try:
        marker = Marker(requirement.marker)
    except InvalidMarker as exc:
        raise ValueError(f"{requirement}: bad marker {requirement.marker!r}") from exc
    return marker.evaluate(dict(marker_environment(machine, python)))


def tag_fits(tag: Tag, machine: str, python: str) -> bool:
    """Whether a wheel tag installs on CPython ``python`` (``3.13``) on Linux ``machine``.

    Platforms: ``any``, ``linux_<machine>``, ``manylinux*_<machine>`` (the glibc version is not
    compared: Bookworm's 2.36 and Trixie's 2.41 take every manylinux wheel PyPI has for them).
    """
    major, minor = python.split(".")
    platform_ok = tag.platform == "any" or (
        tag.platform.endswith(f"_{machine}") and tag.platform.startswith(("linux", "manylinux"))
    )
    if not platform_ok:
        return False
    if tag.interpreter.startswith("py"):
        return tag.abi == "none" and tag.interpreter in (f"py{major}", f"py{major}{minor}")
    if not tag.interpreter.startswith("cp"):
        return False
    if tag.abi == "abi3":
        wanted = int(tag.interpreter[3:] or 0) if tag.interpreter[2:3] == major else 99
        return wanted <= int(minor)
    return tag.interpreter == f"cp{major}{minor}" and tag.abi in (f"cp{major}{minor}", "none")


def wheel_fits(filename: str, machine: str, python: str) -> bool:
    """Whether the wheel file ``filename`` installs on CPython ``python`` on ``machine``."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    return any(tag_fits(tag, machine, python) for tag in tags)


def wheel_for(
    requirement: Requirement, wheels: Mapping[str, str], machine: str, python: str
) -> str | None:
    """The wheel (a name of ``wheels``: file name -> sha256) that installs ``requirement`` on
    that Python and machine, with a hash the lock knows; None when there is none."""
    for filename, sha256 in sorted(wheels.items()):
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if (
            name == requirement.name
            and str(version) == requirement.version
            and wheel_fits(filename, machine, python)
            and (not requirement.hashes or sha256.lower() in requirement.hashes)
        ):
            return filename
    return None


def missing_wheels(
    requirements: Iterable[Requirement], wheels: Mapping[str, str], machine: str, python: str
) -> list[Requirement]:
    """The requirements that apply to that Python and machine but have no wheel in ``wheels``."""
    return [
        r
        for r in requirements
        if applies(r, machine, python) and wheel_for(r, wheels, machine, python) is None
    ]


def check_bundle(
    manifest: Manifest,
    requirements_text: str,
    present: Mapping[str, str],
    target: Target,
) -> list[str]:
    """Why this bundle cannot install on ``target`` (empty: it can).

    ``present`` maps every file actually in the archive (but the manifest) to its sha256.
    Problems come most important first: wrong architecture, Python or Debian release, then
    damaged or missing files, then locked requirements without a wheel, each named.
    """
    problems = []
    if manifest.machine != target.machine:
        wanted = DEBIAN_ARCH.get(target.machine, target.machine)
        problems.append(
            f"wrong architecture: the bundle is for {manifest.machine} ({manifest.debian_arch}),"
            f" the Pi is {target.machine} ({wanted}); build one with"
            f" `make bundle BUNDLE_ARCH={wanted}`"
        )
    if target.python not in manifest.pythons:
        problems.append(
            f"wrong Python: the bundle holds wheels for Python {', '.join(manifest.pythons)},"
            f" the Pi runs Python {target.python}; build one with"
            f" `make bundle BUNDLE_PYTHONS={target.python}`"
        )
    if manifest.suite != target.suite:
        problems.append(
            f"wrong Debian release: the bundle's packages are for {manifest.suite},"
            f" the Pi runs {target.suite}; build one with `make bundle BUNDLE_SUITE={target.suite}`"
        )
    if problems:  # the wrong bundle altogether: its wheels would all be "missing" too
        return problems
    for path, sha256 in sorted(manifest.files.items()):
        if path not in present:
            problems.append(f"missing from the bundle: {path}")
        elif present[path].lower() != sha256.lower():
            problems.append(f"damaged in the bundle (sha256 differs from the manifest): {path}")
    for path in sorted(set(present) - set(manifest.files)):
        problems.append(f"not in the manifest: {path}")
    if manifest.project_wheel not in present:
        problems.append(f"the project's wheel is missing: {manifest.project_wheel}")
    if REQUIREMENTS not in present:
        problems.append(f"missing from the bundle: {REQUIREMENTS}")
        return problems
    try:
        requirements = parse_requirements(requirements_text)
    except ValueError as exc:
        problems.append(f"{REQUIREMENTS}: {exc}")
        return problems
    wheels = {
        path.rsplit("/", 1)[1]: sha256
        for path, sha256 in present.items()
        if path.startswith(f"{WHEELS}/") and path.endswith(".whl")
    }
    for requirement in missing_wheels(requirements, wheels, target.machine, target.python):
        problems.append(
            f"missing wheel: {requirement} for Python {target.python} on {target.machine}"
            " (with a hash from uv.lock)"
        )
    return problems
