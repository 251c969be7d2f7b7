"""What a client makes of the server's replies (edge_server.contract.server_replies): the
decisions edge-audio and edge-server follow share."""

from __future__ import annotations

import json

import pytest

from edge_server.contract import close_codes
from edge_server.contract.server_replies import (
    ServerMessageError,
    is_fatal,
    is_warning,
    parse_server_message,
    refusal_from_close,
    refusal_from_http,
)
from edge_server.contract.uplink import CLOSE_CODES, ErrorCode


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (4010, "token_missing: needs the token", ("token_missing", "needs the token")),
        (4008, "too slow: messages were piling up", ("too slow", "messages were piling up")),
        (1001, "shutting_down: the server stops", ("shutting_down", "the server stops")),
        (1011, "", ("closed", "")),
        (4000, "no colon here", ("no colon here", "no colon here")),
        (1000, "end of stream", None),  # a normal close says nothing
        (1006, "", None),
    ],
)  # fmt: skip
def test_refusal_from_close(code: int, reason: str, expected: tuple[str, str] | None) -> None:
    assert refusal_from_close(code, reason) == expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, json.dumps({"type": "error", "code": "token_wrong", "message": "no"}).encode(),
         ("token_wrong", "no (HTTP 403)")),
        (400, b"not json", ("http_400", "HTTP 400 Reason")),
        (429, json.dumps({"type": "error", "code": "too_many_attempts"}).encode(),
         ("too_many_attempts", "Reason (HTTP 429)")),
        (502, b"bad gateway", None),  # not a refusal: the server is not there yet
        (301, b"", None),
    ],
)  # fmt: skip
def test_refusal_from_http(status: int, body: bytes, expected: tuple[str, str] | None) -> None:
    assert refusal_from_http(status, "Reason", body) == expected


@pytest.mark.parametrize(
    ("code", "close_code", "fatal"),
    [
        ("token_missing", close_codes.TOKEN_MISSING, True),
        ("token_wrong", None, True),
        ("origin_refused", close_codes.ORIGIN_REFUSED, True),
        ("whatever", close_codes.TOKEN_WRONG, True),  # the close code alone decides
        ("http_403", None, True),
        ("http_408", None, False),
        ("too_many_attempts", close_codes.POLICY_VIOLATION, False),
        ("too slow", close_codes.TOO_SLOW, False),
        ("shutting_down", close_codes.GOING_AWAY, False),
        ("source_busy", close_codes.SOURCE_BUSY, False),
    ],
)
def test_is_fatal(code: str, close_code: int | None, fatal: bool) -> None:
    assert is_fatal(code, close_code) is fatal


def test_warnings_are_exactly_the_errors_without_a_close() -> None:
    for code in ErrorCode:
        assert is_warning(code) is (code not in CLOSE_CODES)
    assert is_warning("unknown_type")
    assert not is_warning("bad_frame")
    assert not is_warning(None)


@pytest.mark.parametrize(
    "text", ["", "[]", '{"no": "type"}', '{"type": 3}', "[" * 100000, b"\xff\xfe"]
)
def test_malformed_server_messages_are_refused_clearly(text: str | bytes) -> None:
    with pytest.raises(ServerMessageError):
        parse_server_message(text)


def test_every_close_code_is_listed_once() -> None:
    codes = {
        name: value
        for name, value in vars(close_codes).items()
        if name.isupper() and isinstance(value, int)
    }
    assert len(set(codes.values())) == len(codes), codes
    assert set(codes.values()) >= close_codes.REFUSED
    assert set(CLOSE_CODES.values()) <= set(codes.values())
    assert all(close_codes.is_server_refusal(c) for c in close_codes.REFUSED)
    assert not close_codes.is_server_refusal(close_codes.NORMAL)
