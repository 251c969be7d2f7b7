"""The glossary through a real room with the embedded engine: a glossary file's names reach the
recognizer's worker, which writes them with their capitals itself (the stored final has no
``heard`` text: nothing needed correcting), on a LibriVox recording that says "john dashwood",
streamed by the real audio node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.helpers.live_server import LiveServers, make_settings
from tests.helpers.processes import EDGE_AUDIO

pytestmark = pytest.mark.speech
DASHWOOD_CLIP = "sense_and_sensibility_01_austen_64kb-0870"


async def test_the_room_glossary_reaches_the_embedded_engine(
    live_server: LiveServers, tmp_path: Path, librivox_dir: Path
) -> None:
    glossary = tmp_path / "glossary.toml"
    glossary.write_text('terms = ["John Dashwood", "Norland"]\n')
    server = await live_server(
        make_settings(tmp_path / "state", offline_search="accurate", glossary=glossary)
    )
    proc = await asyncio.create_subprocess_exec(
        *EDGE_AUDIO, "stream-file", str(librivox_dir / f"{DASHWOOD_CLIP}.wav"),
        "--server", server.http, "--room", "main", "--lang", "en-US", "--speed", "0", "--quiet",
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), 90) == 0
    store = server.settings.state_dir / "rooms" / "main" / "transcript.jsonl"
    records = [json.loads(line) for line in store.read_text().splitlines()]
    text = " ".join(r["text"] for r in records)
    assert "Mr. John Dashwood" in text
    # the recognizer wrote the name so: no final needed the glossary's correction afterwards
    assert [r.get("heard") for r in records] == [None] * len(records)
