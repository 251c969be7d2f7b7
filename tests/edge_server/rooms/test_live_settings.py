"""The tech lead changes a room's languages while it runs, through the API of a real server with
audio flowing: the next caption reflects the change, nothing is restarted, and the change
survives a server restart. (The pure rules: tests/edge_server/core/test_live_settings.py.)"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from websockets.asyncio.client import connect

from edge_server.core.settings import RoomSettings
from tests.helpers.live_server import LiveServer, LiveServers, make_settings
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio, recv_json

ADMIN = "admin-secret-0123456789"


class EnglishOnly(ScriptedRecognizer):
    def supported_languages(self) -> frozenset[str] | None:
        return frozenset({"en-US"})


async def _post(live: LiveServer, room: str, body: Any, token: str = ADMIN) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{live.http}/api/rooms/{room}/settings",
            data=json.dumps(body),
            headers={"Authorization": f"Bearer {token}"},
        ) as r,
    ):
        return r.status, await r.json()


async def _server(live_server: LiveServers, recognizer: ScriptedRecognizer) -> LiveServer:
    room = RoomSettings(targets=("it",), translator="amazon-translate")
    return await live_server(
        make_settings(
            live_server.state_dir, default_room=room, max_frame_bytes=16000, admin_token=ADMIN
        ),
        recognizer_factory=lambda name, r, s: recognizer,
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


async def _final(ws: Any) -> dict[str, Any]:
    while True:
        message = await recv_json(ws)
        if message["type"] == "final":
            return message


async def test_language_and_targets_change_live(live_server: LiveServers) -> None:
    recognizer = ScriptedRecognizer("scripted")
    live = await _server(live_server, recognizer)
    captions = await connect(f"{live.ws}/ws/captions/main?backlog=0&partials=0")
    audio, ready = await open_audio(live.ws, "main")
    assert ready["language"] == "en-US"
    for n in (1, 2):
        await audio.send(word_audio(n))
    # Mid-sentence: the words so far are finalized in English, then Italian goes on.
    status, body = await _post(live, "main", {"source_lang": "it-IT", "targets": ["en", "de"]})
    assert status == 200, body
    assert body == {
        "room": "main",
        "source_lang": "it-IT",
        "languages": [],
        "targets": ["en", "de"],
    }
    first = await _final(captions)
    assert (first["text"], first["lang"]) == ("w1 w2", "en-US")
    for n in (3, 4, 0):
        await audio.send(word_audio(n))
    second = await _final(captions)
    assert (second["text"], second["lang"]) == ("w3 w4", "it-IT")
    assert second["translations"] == {"en": "en w3 w4", "de": "de w3 w4"}
    assert second["start"] >= first["end"]  # the room's timeline went on
    assert recognizer.streams_opened == 2  # a new stream, not a new server
    # Refusals say why.
    assert (await _post(live, "main", {"source_lang": "xx yy"}))[0] == 400
    assert (await _post(live, "main", {"targets": ["it"]}, token="wrong-token-0123456789"))[
        0
    ] == 403
    code, error = await _post(live, "main", {"languages": ["it-IT", "en-US"]})
    assert code == 409
    assert "transcribe" in error["message"]
    await audio.close()
    await captions.close()
    await live.stop()  # a restart on the same state, on purpose
    # The change survives a restart, and wins over the node's hello.
    live = await _server(live_server, ScriptedRecognizer("scripted"))
    audio, ready = await open_audio(live.ws, "main")
    assert ready["language"] == "it-IT"
    await audio.close()


async def test_unsupported_language_is_409(live_server: LiveServers) -> None:
    live = await _server(live_server, EnglishOnly("embedded"))
    code, body = await _post(live, "main", {"source_lang": "it-IT"})
    assert code == 409
    assert body["error"] == "unsupported"
    assert "supports en-US, not it-IT" in body["message"]
