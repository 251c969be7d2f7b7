"""The tech lead changes a room's languages while it runs: the pure rules, then the API on a
real server with audio flowing (the next caption reflects the change, nothing is restarted,
and the change survives a server restart)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from edge_server.core.live_settings import (
    LiveChange,
    SettingsConflict,
    parse_live_change,
    plan_change,
)
from edge_server.core.settings import RoomSettings, SettingsError
from tests.helpers.live_server import LiveServer, make_settings
from tests.helpers.scripted_engine import PrefixTranslator, ScriptedRecognizer, word_audio
from tests.helpers.wire import open_audio, recv_json

ADMIN = "admin-secret-0123456789"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({}, "nothing to change"),
        ({"engine": "transcribe"}, "cannot change engine live"),
        ({"source_lang": 5}, "language code"),
        ({"source_lang": "english please"}, "source_lang"),
        ({"targets": "it"}, "list of language codes"),
        ({"targets": ["it", "x y"]}, "targets"),
        ({"targets": ["a" + str(i) for i in range(11)]}, "at most 10"),
    ],
)
def test_bad_changes_are_refused_with_a_reason(body: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_live_change(body)


def test_change_parsing_deduplicates() -> None:
    change = parse_live_change({"targets": ["it", "de", "it"], "source_lang": " it-IT "})
    assert change == LiveChange(source_lang="it-IT", targets=("it", "de"))


EN_ONLY = frozenset({"en-US"})


@pytest.mark.parametrize(
    ("current", "change", "supported", "translator", "expected"),
    [
        # (new source, languages, targets, restart stream, rebuild recognizer)
        (
            RoomSettings(), LiveChange(targets=("it",)),
            None, True, ("en-US", (), ("it",), False, False),
        ),
        (
            RoomSettings(), LiveChange(source_lang="it-IT"),
            None, False, ("it-IT", (), (), True, False),
        ),
        (
            RoomSettings(), LiveChange(source_lang="en-US"),
            EN_ONLY, False, ("en-US", (), (), False, False),
        ),
        (
            RoomSettings(engine="transcribe"),
            LiveChange(languages=("it-IT", "en-US")),
            None, False, ("en-US", ("it-IT", "en-US"), (), True, True),
        ),
        (
            RoomSettings(engine="transcribe", languages=("it-IT", "en-US"), source_lang="it-IT"),
            LiveChange(languages=()),
            None, False, ("it-IT", (), (), True, True),
        ),
    ],
)  # fmt: skip
def test_plans(
    current: RoomSettings,
    change: LiveChange,
    supported: frozenset[str] | None,
    translator: bool,
    expected: tuple[Any, ...],
) -> None:
    plan = plan_change(current, change, supported_languages=supported, has_translator=translator)
    got = (
        plan.settings.source_lang,
        plan.settings.languages,
        plan.settings.targets,
        plan.restart_stream,
        plan.rebuild_recognizer,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("current", "change", "supported", "translator", "message"),
    [
        (RoomSettings(), LiveChange(source_lang="it-IT"), EN_ONLY, False, "supports en-US"),
        (RoomSettings(), LiveChange(languages=("it-IT", "en-US")), None, False, "transcribe"),
        (RoomSettings(), LiveChange(targets=("it",)), None, False, "no translator"),
    ],
)
def test_conflicts(
    current: RoomSettings,
    change: LiveChange,
    supported: frozenset[str] | None,
    translator: bool,
    message: str,
) -> None:
    with pytest.raises(SettingsConflict, match=message):
        plan_change(current, change, supported_languages=supported, has_translator=translator)


class EnglishOnly(ScriptedRecognizer):
    def supported_languages(self) -> frozenset[str] | None:
        return EN_ONLY


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


def _server(state: Path, recognizer: ScriptedRecognizer) -> LiveServer:
    room = RoomSettings(targets=("it",), translator="amazon-translate")
    return LiveServer(
        make_settings(state, default_room=room, max_frame_bytes=16000, admin_token=ADMIN),
        recognizer_factory=lambda name, r, s: recognizer,
        translator_factory=lambda name, r, s: PrefixTranslator(),
    )


async def _final(ws: Any) -> dict[str, Any]:
    while True:
        message = await recv_json(ws)
        if message["type"] == "final":
            return message


async def test_language_and_targets_change_live(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer("scripted")
    live = await _server(tmp_path / "state", recognizer).start()
    try:
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
    finally:
        await live.stop()
    # The change survives a restart, and wins over the node's hello.
    live = await _server(tmp_path / "state", ScriptedRecognizer("scripted")).start()
    try:
        audio, ready = await open_audio(live.ws, "main")
        assert ready["language"] == "it-IT"
        await audio.close()
    finally:
        await live.stop()


async def test_unsupported_language_is_409(tmp_path: Path) -> None:
    live = await _server(tmp_path / "state", EnglishOnly("embedded")).start()
    try:
        code, body = await _post(live, "main", {"source_lang": "it-IT"})
        assert code == 409
        assert body["error"] == "unsupported"
        assert "supports en-US, not it-IT" in body["message"]
    finally:
        await live.stop()
