"""A local Amazon Transcribe control-plane endpoint (custom vocabularies) on aiohttp.

boto3's ``transcribe`` client posts ``/`` with ``X-Amz-Target: Transcribe.<Operation>`` and an
``application/x-amz-json-1.1`` body. Served: CreateVocabulary, UpdateVocabulary, GetVocabulary,
ListVocabularies, DeleteVocabulary, with the service's behaviour:

- a new or updated vocabulary is ``PENDING`` for ``pending_polls`` GetVocabulary answers, then
  ``READY``, or ``FAILED`` with a ``FailureReason`` when a phrase breaks the character rules
  (digits; for ``en-*`` anything but ``a-z A-Z ' - .``; spaces) or ``fail_reason`` is set;
- validation errors answered at once like the service: a phrase over 256 characters, a bad name
  (``BadRequestException``), a name that exists (``ConflictException``), an unknown one
  (``NotFoundException``);
- ``refuse`` set: every call is answered with that (status, code, message).

``calls`` records every (operation, body) in order of arrival.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local_http import listen_locally

PREFIX = "Transcribe."
_NAME = re.compile(r"^[0-9a-zA-Z._-]{1,200}$")
_ENGLISH = re.compile(r"^[A-Za-z'.-]+$")


@dataclass
class FakeVocabulary:
    """One vocabulary as the fake keeps it."""

    name: str
    language: str
    phrases: list[str]
    state: str = "PENDING"
    failure: str | None = None
    polls_left: int = 0
    outcome: tuple[str, str | None] = ("READY", None)


@dataclass
class TranscribeControlFake:
    """The endpoint, with a record of every call."""

    pending_polls: int = 1
    """GetVocabulary answers PENDING this many times before the outcome."""
    fail_reason: str | None = None
    """Every new vocabulary ends FAILED with this reason."""
    refuse: tuple[int, str, str] | None = None
    """Answer every call with (HTTP status, error code, message)."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    vocabularies: dict[str, FakeVocabulary] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    def operations(self) -> list[str]:
        """The operations called, in order."""
        return [op for op, _ in self.calls]

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        return web.json_response(
            {"__type": code, "Message": message},
            status=status,
            headers={"x-amzn-ErrorType": code},
            content_type="application/x-amz-json-1.1",
        )

    @staticmethod
    def _ok(body: dict[str, Any]) -> web.Response:
        return web.json_response(body, content_type="application/x-amz-json-1.1")

    def _outcome(self, language: str, phrases: list[str]) -> tuple[str, str | None]:
        if self.fail_reason:
            return "FAILED", self.fail_reason
        for phrase in phrases:
            if any(c.isdigit() for c in phrase) or " " in phrase:
                return "FAILED", f"The vocabulary has an invalid phrase: {phrase}"
            if language.startswith("en-") and not _ENGLISH.match(phrase):
                return "FAILED", f"The phrase {phrase} has characters outside {language}'s set"
        return "READY", None

    def _store(self, body: dict[str, Any]) -> web.Response | FakeVocabulary:
        name = str(body.get("VocabularyName", ""))
        if not _NAME.match(name):
            return self._error(400, "BadRequestException", f"Invalid vocabulary name {name!r}")
        phrases = body.get("Phrases")
        if not isinstance(phrases, list) or not phrases:
            return self._error(400, "BadRequestException", "Phrases or VocabularyFileUri needed")
        for phrase in phrases:
            if not 1 <= len(phrase) <= 256:
                return self._error(400, "BadRequestException", "A phrase is over 256 characters")
        language = str(body.get("LanguageCode", ""))
        return FakeVocabulary(
            name,
            language,
            list(phrases),
            polls_left=self.pending_polls,
            outcome=self._outcome(language, list(phrases)),
        )

    def _view(self, vocabulary: FakeVocabulary) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "VocabularyName": vocabulary.name,
            "LanguageCode": vocabulary.language,
            "VocabularyState": vocabulary.state,
            "LastModifiedTime": 1764720000.0,
        }
        if vocabulary.failure:
            answer["FailureReason"] = vocabulary.failure
        return answer

    async def _handle(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        body = json.loads(await request.read() or b"{}")
        operation = target.removeprefix(PREFIX)
        self.calls.append((operation, body))
        if self.refuse is not None:
            return self._error(*self.refuse)
        name = str(body.get("VocabularyName", ""))
        existing = self.vocabularies.get(name)
        if operation in ("CreateVocabulary", "UpdateVocabulary"):
            if operation == "CreateVocabulary" and existing is not None:
                return self._error(400, "ConflictException", f"{name} already exists")
            if operation == "UpdateVocabulary" and existing is None:
                return self._error(400, "NotFoundException", f"{name} couldn't be found")
            stored = self._store(body)
            if isinstance(stored, web.Response):
                return stored
            self.vocabularies[name] = stored
            return self._ok(self._view(stored))
        if operation == "GetVocabulary":
            if existing is None:
                return self._error(400, "NotFoundException", f"{name} couldn't be found")
            if existing.state == "PENDING":
                if existing.polls_left > 0:
                    existing.polls_left -= 1
                else:
                    existing.state, existing.failure = existing.outcome
            return self._ok(self._view(existing) | {"DownloadUri": f"https://fake/{name}"})
        if operation == "ListVocabularies":
            contains = str(body.get("NameContains", ""))
            items = [self._view(v) for n, v in sorted(self.vocabularies.items()) if contains in n]
            return self._ok({"Vocabularies": items})
        if operation == "DeleteVocabulary":
            if self.vocabularies.pop(name, None) is None:
                return self._error(400, "NotFoundException", f"{name} couldn't be found")
            return self._ok({})
        return self._error(400, "UnknownOperationException", target)

    async def start(self) -> TranscribeControlFake:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        # boto3 keeps its connections open: do not wait for them at cleanup.
        self._runner, self.port = await listen_locally(app, shutdown_timeout=2.0)
        return self

    @property
    def url(self) -> str:
        """The endpoint URL (``AWS_ENDPOINT_URL_TRANSCRIBE``)."""
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Stop."""
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 10)
