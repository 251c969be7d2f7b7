"""Query parameters of ``/ws/captions/{room}``, parsed and checked. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge_server.contract.names import InvalidName, validate_language

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class InvalidParameter(ValueError):
    """A query parameter with a bad value; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"parameter {name!r}: {message}")
        self.name = name


@dataclass(frozen=True)
class SubscribeParams:
    """What a caption subscriber asked for."""

    backlog: int
    """How many recent finals to receive first."""
    partials: bool
    """Whether to receive partial captions."""


def parse_bool(name: str, value: str) -> bool:
    """``1/0``, ``true/false``, ``yes/no``, ``on/off``."""
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise InvalidParameter(name, f"expected 1 or 0, got {value[:20]!r}")


def parse_subscribe_params(
    query: Mapping[str, str], *, backlog_default: int, backlog_max: int
) -> SubscribeParams:
    """Check the query of a subscription; unknown parameters are ignored."""
    backlog = backlog_default
    raw = query.get("backlog")
    if raw is not None:
        # ASCII digits only: str.isdigit() is also true for "²", which int() refuses.
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
            raise InvalidParameter("backlog", f"expected a whole number, got {raw[:20]!r}")
        backlog = int(raw)
        if backlog > backlog_max:
            raise InvalidParameter("backlog", f"at most {backlog_max}")
    partials = parse_bool("partials", query["partials"]) if "partials" in query else True
    return SubscribeParams(backlog=backlog, partials=partials)


@dataclass(frozen=True)
class ListenRequest:
    """A listener's choice: the language it follows and whether it wants speech."""

    lang: str | None
    audio: bool


def parse_listen_message(message: Mapping[str, object]) -> ListenRequest:
    """Check ``{"type": "listen", "lang": "it", "audio": true}`` (the language's existence in
    the room is checked by the room)."""
    lang = message.get("lang")
    audio = message.get("audio", False)
    if lang is not None:
        if not isinstance(lang, str):
            raise InvalidParameter("lang", "expected a language code such as it or en-US")
        try:
            lang = validate_language(lang)
        except InvalidName as exc:
            raise InvalidParameter("lang", str(exc)) from None
    if not isinstance(audio, bool):
        raise InvalidParameter("audio", "expected true or false")
    return ListenRequest(lang=lang, audio=audio)


def listen_from_query(query: Mapping[str, str]) -> ListenRequest | None:
    """The ``lang`` and ``audio`` query parameters of a subscription, if any."""
    if "lang" not in query and "audio" not in query:
        return None
    audio = parse_bool("audio", query["audio"]) if "audio" in query else False
    return parse_listen_message({"lang": query.get("lang"), "audio": audio})
