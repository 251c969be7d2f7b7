"""Room names and language codes from the network."""

from __future__ import annotations

import pytest

from edge_server.contract.names import (
    InvalidName,
    base_language,
    validate_language,
    validate_room_name,
)


@pytest.mark.parametrize("name", ["main", "room-b", "aula_magna", "a", "1", "x" * 32])
def test_valid_room_names(name: str) -> None:
    assert validate_room_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Main", "-a", "_a", "a b", "a/b", "..", "x" * 33, "caffè", "a\n", "a%2F"]
)
def test_invalid_room_names(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid room name"):
        validate_room_name(name)


@pytest.mark.parametrize("code", ["en", "en-US", "it-IT", "es-419", "fil"])
def test_valid_languages(code: str) -> None:
    assert validate_language(code) == code


@pytest.mark.parametrize("code", ["", "EN", "en_US", "en-us", "english", "e", "en-USA", "en-"])
def test_invalid_languages(code: str) -> None:
    with pytest.raises(InvalidName, match="invalid language code"):
        validate_language(code)


def test_base_language() -> None:
    assert base_language("pt-BR") == "pt"
    assert base_language("it") == "it"
