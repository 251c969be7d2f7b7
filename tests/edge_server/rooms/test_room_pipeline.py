"""The room pipeline (edge_server.rooms: room, sources, audio_session, finals) with scripted
engines and no web server: the order of a final's steps, ids and timeline across sessions and
restarts, the source slot, failures, translations and live changes.

The scripted recognizer (tests/helpers/scripted_engine.py) hears the words its audio encodes:
a 0.5 s chunk of samples equal to n is the word ``w<n>``, a chunk of zeros ends a sentence.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from edge_server.contract.uplink import ErrorCode, ProtocolError, StreamHello
from edge_server.core.engine_api import EngineError
from edge_server.core.live_settings import LiveChange
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.core.trace import PipelineTrace, Stage
from edge_server.rooms.audio_session import AudioSession
from edge_server.rooms.fanout import Subscriber
from edge_server.rooms.live_settings_store import LiveSettingsStore
from edge_server.rooms.room import Room
from edge_server.rooms.status_views import admin_status, health, status_message
from edge_server.rooms.transcript import TranscriptStore
from tests.helpers.scripted_engine import CHUNK_BYTES, ScriptedRecognizer, word_audio

pytestmark = pytest.mark.timeout(30)

HELLO = StreamHello(language="en-US", client_name="pytest", client_version="0")
PAUSE = 0


class Translations:
    """A translator that prefixes each target's code, or fails when told to."""

    name = "prefix"

    def __init__(self) -> None:
        self.fail: EngineError | None = None

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> Mapping[str, str]:
        if self.fail is not None:
            raise self.fail
        return {t: f"{t}:{text}" for t in targets}


def open_store(state: Path) -> TranscriptStore:
    store = TranscriptStore(state / "rooms" / "main" / "transcript.jsonl", fsync=False)
    store.load()
    return store


def make_room(
    state: Path,
    recognizer: ScriptedRecognizer | None = None,
    *,
    store: TranscriptStore | None = None,
    targets: tuple[str, ...] = (),
    translator: Translations | None = None,
    settings: RoomSettings | None = None,
    trace: PipelineTrace | None = None,
    **server: Any,
) -> Room:
    settings = settings or RoomSettings(targets=targets)
    return Room(
        "main",
        settings,
        ServerSettings(state_dir=state, fsync=False, **server),
        recognizer or ScriptedRecognizer("scripted"),
        store or open_store(state),
        translator=translator,
        rebuild_recognizer=lambda _new: ScriptedRecognizer("rebuilt"),
        trace=trace,
    )


async def speak(session: AudioSession, *words: int) -> None:
    """Feed one 0.5 s chunk per word (0: a pause), in 0.1 s frames like a node."""
    for n in words:
        chunk = word_audio(n)
        for offset in range(0, CHUNK_BYTES, 3200):
            await session.feed(chunk[offset : offset + 3200])


class Screen:
    """A subscriber that records what it got and what was on disk when it got it."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.messages: list[dict[str, Any]] = []
        self.on_disk_when_shown: list[bool] = []
        self.subscriber = Subscriber(
            self.send, self.close, partials=True, queue_size=1000, label="screen"
        )
        room.broadcaster.add(self.subscriber)

    async def send(self, text: str) -> None:
        message = json.loads(text)
        if message["type"] == "final":
            try:
                stored = [r["segment"] for r in self.room.store.read_all()]
            except IsADirectoryError:  # the refused-write test
                stored = []
            self.on_disk_when_shown.append(message["segment"] in stored)
        self.messages.append(message)

    async def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"screen dropped: {code} {reason}")

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0)


async def run_session(room: Room, *words: int, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    """One audio connection: claim, speak ``words``, end; returns its finals and failure."""
    finals: list[dict[str, Any]] = []

    async def on_final(record: dict[str, Any]) -> None:
        finals.append(record)

    source = room.claim_source(HELLO, "127.0.0.1")
    session = await room.start_session(source, on_final=on_final, **kwargs)
    try:
        await speak(session, *words)
    finally:
        failure = await room.end_session(session, source)
    return finals, failure


async def test_a_final_is_on_disk_before_any_screen_shows_it(tmp_path: Path) -> None:
    steps: list[tuple[Stage, int]] = []

    def trace(stage: Stage, item: object) -> None:
        if isinstance(item, dict):
            steps.append((stage, item["segment"]))
        elif isinstance(item, str) and item.startswith('{"type":"final"'):
            steps.append((stage, json.loads(item)["segment"]))

    room = make_room(tmp_path, trace=trace)
    screen = Screen(room)
    finals, failure = await run_session(room, 1, 2, PAUSE, 3, PAUSE)
    await screen.settle()
    assert failure is None
    assert [f["text"] for f in finals] == ["w1 w2", "w3"]
    assert [f["text"] for f in screen.of_type("final")] == ["w1 w2", "w3"]
    assert screen.on_disk_when_shown == [True, True]
    for final in finals:
        assert [stage for stage, segment in steps if segment == final["segment"]] == [
            Stage.WRITE_START,
            Stage.WRITE_DONE,
            Stage.PUBLISHED,
        ]
    # Partials came first, under the same segment id as their final.
    partials = screen.of_type("partial")
    assert [p["text"] for p in partials] == ["w1", "w1 w2", "w3"]
    assert {p["segment"] for p in partials[:2]} == {finals[0]["segment"]}
    assert room.latency.count == 2
    await room.close()


async def test_ids_and_timeline_continue_across_sessions_and_restarts(tmp_path: Path) -> None:
    room = make_room(tmp_path)
    first, _ = await run_session(room, 1, PAUSE)
    second, _ = await run_session(room, 2, PAUSE)
    assert [f["segment"] for f in first + second] == [1, 2]
    assert second[0]["start"] >= first[0]["end"]
    timeline = room.clock.timeline
    await room.close()

    again = make_room(tmp_path)  # a restart: everything comes from the transcript
    assert again.clock.next_segment == 3
    assert again.clock.timeline == pytest.approx(second[0]["end"])
    third, _ = await run_session(again, 3, PAUSE)
    assert third[0]["segment"] == 3
    assert third[0]["start"] >= second[0]["end"]
    assert timeline >= second[0]["end"]
    await again.close()


async def test_a_gap_moves_the_timeline_by_the_audio_the_node_dropped(tmp_path: Path) -> None:
    room = make_room(tmp_path)
    source = room.claim_source(HELLO, "127.0.0.1")
    session = await room.start_session(source)
    await speak(session, 1, PAUSE)
    before = room.clock.timeline
    session.skip(dropped_s=7.0, offline_s=30.0)
    assert room.clock.timeline == pytest.approx(before + 7.0)
    await speak(session, 2, PAUSE)
    await room.end_session(session, source)
    finals = room.store.read_all()
    assert finals[1]["start"] >= before + 7.0
    assert (source.gaps, source.dropped_s) == (1, 7.0)
    await room.close()


async def test_one_source_at_a_time_and_the_slot_frees_when_its_finals_are_stored(
    tmp_path: Path,
) -> None:
    room = make_room(tmp_path)
    screen = Screen(room)
    source = room.claim_source(HELLO, "127.0.0.1")
    with pytest.raises(ProtocolError) as busy:
        room.claim_source(StreamHello("en-US", "other", "1"), "10.0.0.9")
    assert busy.value.code is ErrorCode.SOURCE_BUSY
    assert "pytest from 127.0.0.1" in busy.value.message
    session = await room.start_session(source)
    await speak(session, 4)  # no pause: the sentence is still open when the source leaves
    assert status_message(room)["audio"] == "flowing"
    await room.end_session(session, source)
    assert source.released.is_set()
    assert room.source is None
    assert [r["text"] for r in room.store.read_all()] == ["w4"]  # finalized, not lost
    await screen.settle()
    assert [m["audio"] for m in screen.of_type("status")][-1] == "absent"
    assert room.claim_source(HELLO, "127.0.0.1").session == "main-2"
    await room.close()


async def test_a_language_the_recognizer_lacks_is_refused(tmp_path: Path) -> None:
    class EnglishOnly(ScriptedRecognizer):
        def supported_languages(self) -> frozenset[str] | None:
            return frozenset({"en-US"})

    room = make_room(tmp_path, EnglishOnly("english"))
    with pytest.raises(ProtocolError) as refused:
        room.claim_source(StreamHello("it-IT", "pytest", "0"), "127.0.0.1")
    assert refused.value.code is ErrorCode.UNSUPPORTED_LANGUAGE
    assert "en-US, not it-IT" in refused.value.message
    assert room.source is None
    await room.close()


async def test_the_same_node_reconnecting_replaces_its_silent_old_connection(
    tmp_path: Path,
) -> None:
    room = make_room(tmp_path, audio_idle_s=0.05)
    old = room.claim_source(HELLO, "127.0.0.1")
    session = await room.start_session(old)
    await speak(session, 5)
    ending: list[asyncio.Task[Any]] = []
    old.abort = lambda: ending.append(asyncio.create_task(room.end_session(session, old)))
    for _ in range(500):  # until the old link has been quiet for audio_idle_s
        if room.sources.audio_state() != "flowing":
            break
        await asyncio.sleep(0.01)
    assert room.sources.audio_state() == "connected"
    assert room.sources.stale_for(StreamHello("en-US", "other", "0"), "127.0.0.1") is None
    assert room.sources.stale_for(HELLO, "10.1.1.1") is None
    stale = room.sources.stale_for(HELLO, "127.0.0.1")
    assert stale is old
    await room.sources.replace_stale(stale)
    assert ending
    assert old.released.is_set()
    assert [r["text"] for r in room.store.read_all()] == ["w5"]
    assert room.claim_source(HELLO, "127.0.0.1").session == "main-2"
    await room.close()


async def test_a_recognizer_failure_is_reported_at_once_and_logged(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer("scripted")
    recognizer.fail_after_chunks = 2
    room = make_room(tmp_path, recognizer)
    failures: list[EngineError] = []
    told = asyncio.Event()

    async def on_failure(exc: EngineError) -> None:
        failures.append(exc)
        told.set()

    source = room.claim_source(HELLO, "127.0.0.1")
    session = await room.start_session(source, on_failure=on_failure)
    with pytest.raises(EngineError):
        await speak(session, 1, 2, 3, 4)
    async with asyncio.timeout(5):
        await told.wait()
    failure = await room.end_session(session, source)
    assert "dropped the stream" in str(failures[0])
    assert failure is not None
    assert "recognizer" in (health(room)["last_error"] or "")
    assert room.source is None  # the room is ready for the next connection
    await room.close()


async def test_translations_ride_on_finals_and_a_failed_translation_still_shows_the_line(
    tmp_path: Path,
) -> None:
    translator = Translations()
    room = make_room(tmp_path, targets=("it", "de"), translator=translator)
    screen = Screen(room)
    finals, _ = await run_session(room, 1, PAUSE)
    assert finals[0]["translations"] == {"it": "it:w1", "de": "de:w1"}
    translator.fail = EngineError("Translate is down")
    finals, _ = await run_session(room, 2, PAUSE)
    assert finals[0]["translations"] == {}
    await screen.settle()
    assert [f["text"] for f in screen.of_type("final")] == ["w1", "w2"]
    assert admin_status(room)["errors"][-1]["message"] == "translation: Translate is down"
    assert room.costs.estimate()["usd"]["translate"] > 0
    await room.close()


async def test_a_refused_write_holds_the_final_shows_it_and_writes_it_later(
    tmp_path: Path,
) -> None:
    room = make_room(tmp_path)
    screen = Screen(room)
    path = room.store.path
    path.mkdir(parents=True)  # the transcript's name is a folder: every open fails (EISDIR)
    finals, failure = await run_session(room, 1, PAUSE, 2, PAUSE)
    await screen.settle()
    assert failure is None
    assert [f["text"] for f in finals] == ["w1", "w2"]
    assert [f["text"] for f in screen.of_type("final")] == ["w1", "w2"]
    assert [f.get("unsaved") for f in screen.of_type("final")] == [True, True]
    storage = health(room)["storage"]
    assert (storage["state"], storage["unsaved"]) == ("failing", 2)
    assert storage["error"].startswith("EISDIR")
    assert "transcript write failed (EISDIR" in (health(room)["last_error"] or "")
    path.rmdir()  # the disk takes writes again: the next final writes the held ones first
    await run_session(room, 3, PAUSE)
    assert [r["text"] for r in room.store.read_all()] == ["w1", "w2", "w3"]
    assert health(room)["storage"]["state"] == "ok"
    assert all("unsaved" not in r for r in room.store.backlog(10))
    assert all("unsaved" not in r for r in room.store.read_all())
    await room.close()


async def test_live_targets_apply_from_the_next_final_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    room = make_room(tmp_path, targets=("it",), translator=Translations())
    finals, _ = await run_session(room, 1, PAUSE)
    assert set(finals[0]["translations"]) == {"it"}
    settings = await room.change_settings(LiveChange(targets=("de",)))
    assert settings.targets == ("de",)
    finals, _ = await run_session(room, 2, PAUSE)
    assert set(finals[0]["translations"]) == {"de"}
    assert status_message(room)["targets"] == ["de"]
    saved = LiveSettingsStore(tmp_path / "rooms" / "main").load(RoomSettings(targets=("it",)))
    assert saved is not None
    assert saved[0].targets == ("de",)
    assert saved[1] is False  # only targets changed: the node's language still wins
    await room.close()


async def test_a_new_language_mid_stream_finalizes_and_continues_in_it(tmp_path: Path) -> None:
    room = make_room(tmp_path)
    source = room.claim_source(HELLO, "127.0.0.1")
    session = await room.start_session(source)
    await speak(session, 1, 2)  # the sentence in progress
    await room.change_settings(LiveChange(source_lang="it-IT"))
    await speak(session, 3, PAUSE)
    await room.end_session(session, source)
    finals = room.store.read_all()
    assert [(f["text"], f["lang"], f["engine"]) for f in finals] == [
        ("w1 w2", "en-US", "scripted"),
        ("w3", "it-IT", "scripted"),
    ]
    assert finals[1]["start"] >= finals[0]["end"]
    assert room.language_override
    await room.close()


async def test_identification_changes_rebuild_the_recognizer_without_losing_words(
    tmp_path: Path,
) -> None:
    room = make_room(tmp_path, settings=RoomSettings(engine="transcribe"))
    source = room.claim_source(HELLO, "127.0.0.1")
    session = await room.start_session(source)
    await speak(session, 1, 2)
    await room.change_settings(LiveChange(languages=("en-US", "it-IT")))
    await speak(session, 3, PAUSE)
    await room.end_session(session, source)
    finals = room.store.read_all()
    assert [(f["text"], f["engine"]) for f in finals] == [("w1 w2", "scripted"), ("w3", "rebuilt")]
    assert room.recognizer.name == "rebuilt"
    assert status_message(room)["engine"] == "rebuilt"
    await room.close()
