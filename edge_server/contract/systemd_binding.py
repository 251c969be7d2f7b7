"""systemd-python (``systemd.daemon``, ``systemd.journal``), wherever this Python can load it.

Two places are looked at, in order:

1. the import path: the ``journal`` extra in a developer's virtual environment (PyPI's
   ``systemd-python``, built from source against ``libsystemd-dev``);
2. Debian's ``python3-systemd`` in ``/usr/lib/python3/dist-packages``: what the Pis have. Their
   virtual environment is made from Debian's ``python3`` without the system's site-packages, so
   only the ``systemd`` package is loaded from there, by path: nothing else of dist-packages
   joins the import path (Debian's numpy never shadows the locked one). Its compiled modules
   load only when they were built for this interpreter (the import system matches the ABI tag
   in each extension's file name), so a virtual environment of another Python finds none.

Without either (macOS, a laptop without the extra) :func:`systemd_python` returns None and the
programs log plain text and notify with the standard library's socket.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBIAN_DIST_PACKAGES = ("/usr/lib/python3/dist-packages",)
"""Where Debian's ``python3-systemd`` puts the ``systemd`` package."""


@dataclass(frozen=True)
class SystemdPython:
    """The parts of systemd-python the programs use."""

    notify: Callable[[str], bool]
    """``systemd.daemon.notify``: sd_notify(3) with ``$NOTIFY_SOCKET`` of the process."""
    send: Callable[..., Any]
    """``systemd.journal.send``: sd_journal_send(3), fields as keyword arguments."""
    journal_handler: Callable[..., logging.Handler]
    """``systemd.journal.JournalHandler``: the logging handler over ``send`` (its keyword
    arguments: ``sender_function=`` and fields sent with every line)."""
    origin: str
    """Where it was loaded from (the package's folder), for the start-up log line."""


def _bind() -> SystemdPython:
    daemon = importlib.import_module("systemd.daemon")
    journal = importlib.import_module("systemd.journal")
    return SystemdPython(
        notify=daemon.notify,
        send=journal.send,
        journal_handler=journal.JournalHandler,
        origin=str(Path(journal.__file__ or "?").parent),
    )


def _forget() -> None:
    for name in [n for n in sys.modules if n == "systemd" or n.startswith("systemd.")]:
        del sys.modules[name]


def _load_by_path(directory: str) -> SystemdPython | None:
    """The ``systemd`` package of ``directory`` (a dist-packages folder), or None."""
    init = Path(directory, "systemd", "__init__.py")
    if not init.is_file():
        return None
    spec = importlib.util.spec_from_file_location(
        "systemd", init, submodule_search_locations=[str(init.parent)]
    )
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules["systemd"] = module
    try:
        spec.loader.exec_module(module)
        return _bind()
    except ImportError:  # built for another Python (ABI tag), or incomplete
        _forget()
        return None


def load_systemd_python(search: Sequence[str] | None = None) -> SystemdPython | None:
    """systemd-python from the import path, else from the first folder of ``search`` (default
    :data:`DEBIAN_DIST_PACKAGES`) that has a ``systemd`` package built for this Python; None
    when there is none."""
    if search is None:
        search = DEBIAN_DIST_PACKAGES
    try:
        return _bind()
    except ImportError:
        _forget()
    for directory in search:
        found = _load_by_path(directory)
        if found is not None:
            return found
    return None


@functools.cache
def systemd_python() -> SystemdPython | None:
    """:func:`load_systemd_python` once per process (the programs' shared answer)."""
    return load_systemd_python()
