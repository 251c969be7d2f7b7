"""A real, tiny file system for storage faults: a tmpfs of a few hundred KiB mounted under a
test's temporary folder (root only), that a test fills, frees, remounts read-only and back.

Use the ``tiny_disk`` fixture (tests/conftest.py): it unmounts in teardown, whatever happened.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from pathlib import Path

FILLER = "filler.bin"


class TinyDisk:
    """A tmpfs of ``size_kib`` mounted at ``mountpoint``."""

    def __init__(self, mountpoint: Path, size_kib: int = 512) -> None:
        self.mountpoint = mountpoint
        self.size_kib = size_kib
        self.mounted = False

    def mount(self) -> TinyDisk:
        """Mount it (the folder is created)."""
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self._mount("-t", "tmpfs", "-o", f"size={self.size_kib}k,mode=0755", "tmpfs")
        self.mounted = True
        return self

    def _mount(self, *args: str) -> None:
        subprocess.run(
            ["mount", *args, str(self.mountpoint)], check=True, capture_output=True, text=True
        )

    def fill(self) -> int:
        """Write a filler file until the disk says ENOSPC; returns the bytes it took."""
        written = 0
        block = b"\0" * 4096
        fd = os.open(self.mountpoint / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        """Remove the filler: the space is back."""
        (self.mountpoint / FILLER).unlink(missing_ok=True)

    def free_bytes(self) -> int:
        """Free space as the file system reports it."""
        stat = os.statvfs(self.mountpoint)
        return stat.f_bavail * stat.f_frsize

    def remount(self, mode: str, attempts: int = 50) -> None:
        """``mode`` ``ro`` or ``rw``. A remount to ``ro`` is refused (busy) while a file is open
        for writing; the server opens its transcript only for each write, so a few attempts do."""
        for attempt in range(attempts):
            try:
                self._mount("-o", f"remount,{mode}")
                return
            except subprocess.CalledProcessError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1)

    def unmount(self) -> None:
        """Unmount (lazily if something still holds it); again is harmless."""
        if not self.mounted:
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._mount("-o", "remount,rw")
        result = subprocess.run(["umount", str(self.mountpoint)], capture_output=True, check=False)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True, check=False)
        self.mounted = False
