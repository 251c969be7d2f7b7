"""kiosk: static pages (no build step) served by edge_server: the monitor page and its assets."""

from pathlib import Path

WEB_ROOT: Path = Path(__file__).resolve().parent / "web"
"""Folder holding the HTML, CSS and ES modules; served under ``/static/``."""

KIOSK_PAGE: Path = WEB_ROOT / "kiosk.html"
"""The monitor page, served at ``/kiosk/{room}``."""

LISTEN_PAGE: Path = WEB_ROOT / "listen.html"
"""The phone page, served at ``/listen/{room}``."""

STATUS_PAGE: Path = WEB_ROOT / "status.html"
"""The tech lead's status page, served at ``/status``."""

OVERLAY_PAGE: Path = WEB_ROOT / "overlay.html"
"""The livestream overlay (OBS browser source), served at ``/overlay/{room}``."""
