"""What a room shows of itself: the ``status`` message for screens, its part of ``/healthz``
and its card on the tech lead's status page. Read-only views of the room's parts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any, Protocol

from edge_server.core.costs import CostMeter
from edge_server.core.engine_api import GlossaryUser, Recognizer, Translator
from edge_server.core.error_log import ErrorLog
from edge_server.core.latency import LatencyStats
from edge_server.core.replication import ReplicationState
from edge_server.core.room_clock import RoomClock
from edge_server.core.settings import RoomSettings
from edge_server.core.talk_board import TalkBoard
from edge_server.core.talk_listing import RoomTalks
from edge_server.rooms.fanout import Broadcaster
from edge_server.rooms.listener_speech import SpeechHub
from edge_server.rooms.sources import SourceSlot
from edge_server.rooms.transcript import TranscriptStore

SIGNAL_STEP_DB = 6
"""Screens get levels in steps of this many dB, so a status is not sent every second."""


class RoomParts(Protocol):
    """The parts of a room the views read (:class:`~edge_server.rooms.room.Room` has them)."""

    name: str
    settings: RoomSettings
    recognizer: Recognizer
    translator: Translator | None
    store: TranscriptStore
    broadcaster: Broadcaster
    speech: SpeechHub | None
    sources: SourceSlot
    clock: RoomClock
    errors: ErrorLog
    latency: LatencyStats
    costs: CostMeter
    language_override: bool
    talks: TalkBoard

    @property
    def schedule_room(self) -> str:
        """The room's name in the conference schedule."""
        ...

    replication: ReplicationState | None

    def languages(self) -> list[str]:
        """The source language, then the targets."""
        ...


def audio_state(room: RoomParts) -> str:
    """``flowing``, ``connected`` (no frame for a while) or ``absent``."""
    return room.sources.audio_state()


def status_message(room: RoomParts) -> dict[str, Any]:
    """The ``status`` message for subscribers."""
    source = room.sources.current
    return {
        "type": "status",
        "room": room.name,
        "engine": room.recognizer.name,
        "source_lang": source.language if source else room.settings.source_lang,
        "targets": list(room.settings.targets),
        "translator": room.translator.name if room.translator else "none",
        "audio": audio_state(room),
        "signal": _coarse_signal(room),
        "offline": (engine := room.recognizer.health()).offline,
        "behind": engine.behind,
        "languages": room.languages(),
        "speech": room.speech is not None,
        "synthesizer": room.speech.name if room.speech else "none",
    } | _talk_fields(room)


def talk_view(room: RoomParts) -> dict[str, Any] | None:
    """The room's current and next talk, and why it has none (None: no schedule)."""
    return room.talks.room_view(room.name, room.schedule_room, dt.datetime.now(dt.UTC))


def room_talks(room: RoomParts) -> RoomTalks:
    """What the room knows of its talks (its talk list and per-talk transcripts)."""
    board = room.talks
    return RoomTalks(
        room=room.name,
        schedule_room=room.schedule_room,
        schedule=board.schedule,
        offsets=dict(room.settings.talk_offsets),
        steps=tuple(board.clock_steps),
        error=board.room_error(room.name, room.schedule_room),
        clock_synchronized=board.clock_synchronized,
    )


def _talk_fields(room: RoomParts) -> dict[str, Any]:
    """``talk``/``next_talk`` for screens (title, speakers, times), only with a schedule."""
    view = talk_view(room)
    if view is None:
        return {}
    brief = ("id", "title", "speakers", "start", "end")
    return {
        "talk": {k: view["current"][k] for k in brief} if view["current"] else None,
        "next_talk": {k: view["next"][k] for k in brief} if view["next"] else None,
    }


def _coarse_signal(room: RoomParts) -> dict[str, Any] | None:
    source = room.sources.current
    level = source.signal if source else None
    if level is None:
        return None
    step = SIGNAL_STEP_DB
    return {
        "rms_dbfs": step * round(level.rms_dbfs / step),
        "peak_dbfs": step * round(level.peak_dbfs / step),
        "clipping": level.clipping,
        "no_signal": level.no_signal,
    }


def health(room: RoomParts) -> dict[str, Any]:
    """This room's part of ``/healthz``."""
    current = room.sources.current
    source = None
    if current is not None:
        last = current.last_frame_at
        source = {
            "session": current.session,
            "client": f"{current.client_name} {current.client_version}".strip(),
            "remote": current.remote,
            "language": current.language,
            "device": current.device,
            "audio_seconds": round(current.audio_seconds, 1),
            "last_frame_age_s": None if last is None else round(time.monotonic() - last, 2),
            "signal": dataclasses.asdict(signal) if (signal := current.signal) else None,
            "gaps": current.gaps,
            "dropped_s": round(current.dropped_s, 1),
        }
    engine = room.recognizer.health()
    state = audio_state(room)
    return {
        "engine": room.recognizer.name,
        "translator": room.translator.name if room.translator else "none",
        "source_lang": room.settings.source_lang,
        "targets": list(room.settings.targets),
        "audio": state,
        "audio_flowing": state == "flowing",
        "offline": engine.offline,
        "source": source,
        "subscribers": len(room.broadcaster.subscribers),
        "finals": room.store.count,
        "timeline_s": round(room.clock.timeline, 3),
        "last_error": room.errors.last,
        "storage": room.store.storage(),
        "recognizer_error": engine.last_error,
        "engine_switches": [dict(s) for s in engine.switches],
        "recognizer_lag_s": engine.lag_s,
        "search": engine.search,
        "behind": engine.behind,
        "synthesizer": room.speech.name if room.speech else "none",
        "voice_offline": room.speech.synthesizer.health().offline if room.speech else False,
        "cost": room.costs.estimate(),
        "talks": talk_view(room),
        "cloud_glossary": cloud_glossary(room),
        "replication": room.replication.report() if room.replication else None,
    }


def cloud_glossary(room: RoomParts) -> dict[str, Any] | None:
    """What the cloud engines made of the glossary: Transcribe's custom vocabularies per
    language and Translate's terminology, each ``pending``/``ready``/``failed`` (with the
    reason) and what was left out; None when no engine uses it."""
    view: dict[str, Any] = {}
    for key, engine in (("recognizer", room.recognizer), ("translator", room.translator)):
        if isinstance(engine, GlossaryUser):
            status = engine.glossary_status()
            if status is not None:
                view[key] = dict(status)
    return view or None


def glossary_alarms(room: RoomParts) -> list[str]:
    """A custom vocabulary or terminology that failed (the room captions without it)."""
    view = cloud_glossary(room) or {}
    alarms = []
    for language, item in view.get("recognizer", {}).get("languages", {}).items():
        if item["state"] == "failed":
            alarms.append(f"room {room.name}: custom vocabulary ({language}) failed: "
                          f"{item['reason']}")  # fmt: skip
    terminology = view.get("translator", {})
    if terminology.get("state") == "failed":
        alarms.append(f"room {room.name}: custom terminology failed: {terminology['reason']}")
    return alarms


def replication_alarms(room: RoomParts) -> list[str]:
    """What is wrong with this room's replication to Redis, in words (empty: all is well)."""
    alarm = room.replication.alarm(room.name) if room.replication else None
    return [alarm] if alarm else []


def storage_alarms(room: RoomParts) -> list[str]:
    """What is wrong with this room's transcript storage, in words (empty: all is well)."""
    storage = room.store.storage()
    alarms = []
    if storage["state"] != "ok":
        alarms.append(
            f"room {room.name}: transcript not saved ({storage['error']}): "
            f"{storage['unsaved']} finals held in memory (at most {storage['unsaved_max']})"
        )
    if storage["dropped"]:
        alarms.append(
            f"room {room.name}: {storage['dropped']} unsaved finals dropped from memory "
            "(the cap was reached; their text is in the log)"
        )
    if storage["low_space"]:
        alarms.append(f"room {room.name}: low disk space ({storage['free_bytes']} bytes free)")
    return alarms


def talk_alarms(room: RoomParts) -> list[str]:
    """A room the loaded schedule does not know (no talk information for it)."""
    schedule = room.talks.schedule
    if schedule is None or schedule.has_room(room.schedule_room):
        return []
    error = room.talks.room_error(room.name, room.schedule_room)
    return [error] if error else []


def admin_status(room: RoomParts) -> dict[str, Any]:
    """This room for the tech lead's status page: health plus latency, listeners, errors."""
    status = health(room)
    by_lang: dict[str, int] = {}
    with_audio = 0
    for subscriber in room.broadcaster.subscribers.values():
        key = subscriber.lang or "all"
        by_lang[key] = by_lang.get(key, 0) + 1
        with_audio += subscriber.audio
    latency = room.latency.summary()
    supported = room.recognizer.supported_languages()
    status.update(
        {
            "languages": list(room.settings.languages),
            "source_langs": sorted(supported) if supported is not None else None,
            "identification": room.settings.engine == "transcribe",
            "language_override": room.language_override,
            "latency": dataclasses.asdict(latency) if latency else None,
            "listeners": {
                "total": len(room.broadcaster.subscribers),
                "audio": with_audio,
                "by_lang": by_lang,
            },
            "errors": room.errors.entries(),
            "speech": room.speech is not None,
            "synthesizer": room.speech.name if room.speech else "none",
            "speech_health": room.speech.health() if room.speech else None,
        }
    )
    return status
