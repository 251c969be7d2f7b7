"""Changes the tech lead makes to a running room: parsed, checked, planned. Pure.

Only the languages change live: the spoken language (or the list to identify among) and the
translation targets. Everything else needs the configuration file and a restart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge_server.contract.names import InvalidName, validate_language
from edge_server.core.settings import RoomSettings, SettingsError

MAX_TARGETS = 10
CHANGEABLE = ("source_lang", "languages", "targets")


class SettingsConflict(ValueError):
    """The change is well formed but this room's engines cannot do it."""


@dataclass(frozen=True)
class LiveChange:
    """What to change; None leaves a setting as it is."""

    source_lang: str | None = None
    languages: tuple[str, ...] | None = None
    """Languages to identify among; ``()`` turns identification off."""
    targets: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The changed settings only, JSON-ready."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()
            if v is not None
        }


@dataclass(frozen=True)
class ChangePlan:
    """The room's new settings and what has to happen to its recognizer."""

    settings: RoomSettings
    restart_stream: bool
    """The running recognizer stream must continue in another language."""
    rebuild_recognizer: bool
    """The recognizer itself must be rebuilt (identification languages changed)."""


def _codes(name: str, value: Any, limit: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{name} must be a list of language codes")
    if len(value) > limit:
        raise SettingsError(f"{name}: at most {limit} languages")
    codes: list[str] = []
    for code in value:
        try:
            checked = validate_language(code.strip())
        except InvalidName as exc:
            raise SettingsError(f"{name}: {exc}") from None
        if checked not in codes:
            codes.append(checked)
    return tuple(codes)


def parse_live_change(body: Any) -> LiveChange:
    """Check a JSON body such as ``{"source_lang": "it-IT", "targets": ["en", "de"]}``."""
    if not isinstance(body, Mapping):
        raise SettingsError("expected a JSON object")
    unknown = set(body) - set(CHANGEABLE)
    if unknown:
        raise SettingsError(
            f"cannot change {', '.join(sorted(map(str, unknown)))} live; "
            f"changeable: {', '.join(CHANGEABLE)}"
        )
    if not body:
        raise SettingsError(f"nothing to change; give one of {', '.join(CHANGEABLE)}")
    source = body.get("source_lang")
    if source is not None:
        if not isinstance(source, str):
            raise SettingsError("source_lang must be a language code such as it-IT")
        try:
            source = validate_language(source.strip())
        except InvalidName as exc:
            raise SettingsError(f"source_lang: {exc}") from None
    languages = body.get("languages")
    targets = body.get("targets")
    return LiveChange(
        source_lang=source,
        languages=None if languages is None else _codes("languages", languages, MAX_TARGETS),
        targets=None if targets is None else _codes("targets", targets, MAX_TARGETS),
    )


def plan_change(
    current: RoomSettings,
    change: LiveChange,
    *,
    supported_languages: frozenset[str] | None,
    has_translator: bool,
) -> ChangePlan:
    """The new settings, or :class:`SettingsConflict` / ``SettingsError`` saying why not."""
    values: dict[str, Any] = {}
    if change.source_lang is not None:
        values["source_lang"] = change.source_lang
    if change.languages is not None:
        values["languages"] = change.languages
    if change.targets is not None:
        values["targets"] = change.targets
    languages = values.get("languages", current.languages)
    if languages and current.engine != "transcribe":
        raise SettingsConflict(
            f"automatic language identification needs the transcribe engine; this room uses "
            f"{current.engine}"
        )
    source = values.get("source_lang", current.source_lang)
    if languages and source not in languages:
        values["source_lang"] = source = languages[0]
    if not languages and supported_languages is not None and source not in supported_languages:
        raise SettingsConflict(
            f"this room's {current.engine} recognizer supports "
            f"{', '.join(sorted(supported_languages))}, not {source}"
        )
    if change.targets and not has_translator:
        raise SettingsConflict(
            "this room has no translator; set translator = 'amazon-translate' in its "
            "configuration to translate"
        )
    new = dataclasses.replace(current, **values)  # validates: SettingsError
    languages_changed = new.languages != current.languages
    return ChangePlan(
        settings=new,
        restart_stream=new.source_lang != current.source_lang or languages_changed,
        rebuild_recognizer=languages_changed
        or (bool(new.languages) and new.source_lang != current.source_lang),
    )
