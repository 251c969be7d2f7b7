"""``EDGE_AUDIO_CA_FILE``: from the environment file to every connection of ``edge-audio run``
(the ``wss://`` path itself is proven end to end in tests/web/test_https.py)."""

from __future__ import annotations

from edge_audio.node import uplink_settings
from edge_audio.settings import load_settings


def test_ca_file_reaches_the_uplink() -> None:
    file_values = {
        "EDGE_AUDIO_SERVER": "https://display-pi.local:8443",
        "EDGE_AUDIO_ROOM": "main",
        "EDGE_AUDIO_CA_FILE": "/etc/edge-audio/venue-ca.pem",
    }
    settings = load_settings(file_values, {}, {})
    assert settings.url == "wss://display-pi.local:8443/ws/audio/main"
    assert uplink_settings(settings).ca_file == "/etc/edge-audio/venue-ca.pem"


def test_without_ca_file_the_system_store_is_used() -> None:
    settings = load_settings({"EDGE_AUDIO_SERVER": "https://h", "EDGE_AUDIO_ROOM": "main"}, {}, {})
    assert settings.ca_file is None
    assert uplink_settings(settings).ca_file is None
