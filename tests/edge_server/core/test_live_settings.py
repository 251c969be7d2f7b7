"""The tech lead changes a room's languages while it runs: the pure rules (parsing a change,
planning it, refusing conflicts). The same changes on a live server:
tests/edge_server/rooms/test_live_settings.py."""

from __future__ import annotations

from typing import Any

import pytest

from edge_server.core.live_settings import (
    LiveChange,
    SettingsConflict,
    parse_live_change,
    plan_change,
)
from edge_server.core.settings import RoomSettings, SettingsError


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
