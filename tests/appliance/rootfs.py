"""Fresh Debian 13 root file systems for converge tests.

A pristine ``debootstrap --variant=minbase --include=python3 trixie`` root is made once, from
the Debian mirror this machine's apt sources already name, and kept as a tarball under
``.cache/appliance/``; every test run extracts it afresh. :class:`RootFs` mounts what a chroot
needs (``/proc``, and the download caches that make a second run fast) and undoes it all, by
mount point and by PID, even when the test fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SUITE = "trixie"
BASE_MAX_AGE_S = 30 * 86400
"""A base older than this is made again (newer packages, fewer upgrades in the converge)."""


def debian_mirror_from_sources(texts: dict[str, str]) -> str | None:
    """The Debian archive mirror named by apt source files (name -> text), or None.

    Reads deb822 ``.sources`` (``URIs:``) and one-line ``.list`` entries; takes the first
    ``deb`` URI whose path ends in ``/debian`` (the main archive, not ``debian-security``).
    """
    for name, text in sorted(texts.items()):
        uris: list[str] = []
        if name.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields = _deb822(stanza)
                if "deb" in fields.get("types", "").split():
                    uris += fields.get("uris", "").split()
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
                if len(words) >= 2 and words[0] == "deb":
                    uris.append(words[1])
        for uri in uris:
            if re.match(r"^https?://", uri) and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return None


def _deb822(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line or line[:1].isspace():
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def host_debian_mirror() -> str | None:
    """The mirror this machine's apt uses (``EDGE_APPLIANCE_MIRROR`` overrides it)."""
    if os.environ.get("EDGE_APPLIANCE_MIRROR"):
        return os.environ["EDGE_APPLIANCE_MIRROR"]
    texts: dict[str, str] = {}
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in (".list", ".sources"):
            texts[path.name] = path.read_text(errors="replace")
    return debian_mirror_from_sources(texts)


def base_tarball(
    cache: Path, mirror: str, log: list[str], arch: str | None = None, include: str = "python3"
) -> Path:
    """The pristine root's tarball, made now (debootstrap) unless a recent one is cached.

    ``arch`` (a Debian architecture, e.g. ``arm64``) makes a foreign root, entered through
    qemu-user-static's binfmt handler; None is this machine's. The cache is keyed by the
    architecture and the ``include`` package list (its name) and by age (``BASE_MAX_AGE_S``).
    """
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"debian-{SUITE}-{arch}-minbase" if arch else f"debian-{SUITE}-minbase"
    tarball = cache / f"{stem}.tar"
    meta_file = cache / f"{stem}.json"
    key = {"mirror": mirror, "include": include}
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads(meta_file.read_text())
            fresh = time.time() - float(meta["made"]) < BASE_MAX_AGE_S
            same = all(
                meta.get(k, "python3" if k == "include" else None) == v for k, v in key.items()
            )
            if tarball.exists() and same and fresh:
                log.append(
                    f"base root: cached {tarball.name} (debootstrap took {meta['seconds']} s)"
                )
                return tarball
        work = cache / "debootstrap.tmp"
        shutil.rmtree(work, ignore_errors=True)
        started = time.monotonic()
        foreign = [f"--arch={arch}"] if arch else []
        argv = ["debootstrap", *foreign, "--variant=minbase", f"--include={include}", SUITE]
        done = subprocess.run(
            [*argv, str(work), mirror], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        seconds = round(time.monotonic() - started, 1)
        partial = tarball.with_suffix(".tar.part")
        subprocess.run(["tar", "-C", str(work), "-cf", str(partial), "."], check=True)
        partial.replace(tarball)
        shutil.rmtree(work)
        meta_file.write_text(json.dumps({**key, "made": time.time(), "seconds": seconds}))
        log.append(f"base root: debootstrap {SUITE} {arch or ''} from {mirror} in {seconds} s")
        return tarball


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (or copy) the files of ``source`` into ``target``, keeping those already there;
    apt's lock and partial downloads stay behind."""
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d != "partial"]
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name == "lock" or (into / name).exists():
                continue
            try:
                os.link(Path(folder) / name, into / name)
            except OSError:
                shutil.copy2(Path(folder) / name, into / name)


def mount_points() -> list[Path]:
    """Every mount point of this mount namespace."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        field = line.split()[4]
        points.append(Path(field.encode().decode("unicode_escape")))
    return points


class RootFs:
    """A root file system extracted from the pristine tarball, ready for a chroot connection.

    ``caches`` maps a folder inside the root (``var/cache/apt/archives``) to a host folder whose
    files are hard-linked in before the converge and back out after (:meth:`save_caches`), so
    downloads survive between runs while every run keeps its own apt lock.
    """

    def __init__(
        self,
        path: Path,
        tarball: Path,
        caches: dict[str, Path],
        env: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.tarball = tarball
        self.caches = caches
        self.env = env or {}
        """More environment for :meth:`run` (``QEMU_CPU`` for an emulated root)."""
        self.mounted: list[Path] = []

    def prepare(self) -> None:
        """Extract, add a policy-rc.d (no daemon starts while packages install), trust this
        machine's extra certificate authorities (for pip), mount /proc and the caches."""
        self.path.mkdir(parents=True)
        subprocess.run(["tar", "-C", str(self.path), "-xf", str(self.tarball)], check=True)
        policy = self.path / "usr/sbin/policy-rc.d"
        policy.write_text(
            "#!/bin/sh\n# converge test: never start daemons in this chroot\nexit 101\n"
        )
        policy.chmod(0o755)
        local_cas = self.path / "usr/local/share/ca-certificates"
        local_cas.mkdir(parents=True, exist_ok=True)
        for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(crt, local_cas / crt.name)
        bundle = Path("/etc/ssl/certs/ca-certificates.crt")
        if bundle.exists():
            (self.path / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
            shutil.copy(bundle, self.path / "etc/ssl/certs/ca-certificates.crt")
        self._mount(["-t", "proc", "proc"], self.path / "proc")
        for inside, host in self.caches.items():
            host.mkdir(parents=True, exist_ok=True)
            _link_tree(host, self.path / inside)

    def save_caches(self) -> None:
        """Keep what the converge downloaded for the next run."""
        for inside, host in self.caches.items():
            _link_tree(self.path / inside, host)

    def _mount(self, args: list[str], target: Path) -> None:
        subprocess.run(["mount", *args, str(target)], check=True)
        self.mounted.append(target)

    def run(
        self, argv: list[str], user: str | None = None, **kwargs: object
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the root (as ``user``), with a plain environment."""
        spec = [f"--userspec={user}:{user}"] if user else []
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "LANG": "C.UTF-8",
            "HOME": "/root",
            **self.env,
        }
        return subprocess.run(
            ["chroot", *spec, str(self.path), *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def processes(self) -> list[int]:
        """PIDs of processes whose root directory is this root."""
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if Path(os.readlink(proc / "root")) == self.path:
                    pids.append(int(proc.name))
        return pids

    def close(self, remove: bool) -> list[str]:
        """Stop what still runs in the root (by PID), unmount everything mounted, and remove
        the root unless told not to. Returns what had to be cleaned up, for the report."""
        notes = []
        for pid in self.processes():
            notes.append(f"killed PID {pid} left running in {self.path}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for target in reversed(self.mounted):
            done = subprocess.run(
                ["umount", str(target)], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                time.sleep(0.5)
                subprocess.run(["umount", str(target)], check=False)
        self.mounted.clear()
        still = [p for p in mount_points() if p == self.path or self.path in p.parents]
        if still:
            raise RuntimeError(f"still mounted under {self.path}: {still}; not removing it")
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        return notes


@contextlib.contextmanager
def prepared_roots(roots: list[RootFs], keep: bool) -> Iterator[list[RootFs]]:
    """Prepare every root; always close them all (also when preparing one fails)."""
    try:
        for root in roots:
            root.prepare()
        yield roots
    finally:
        errors = []
        for root in roots:
            try:
                root.close(remove=not keep)
            except RuntimeError as exc:
                errors.append(str(exc))
        if errors:
            raise RuntimeError("; ".join(errors))
