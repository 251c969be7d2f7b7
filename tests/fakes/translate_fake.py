"""A local Amazon Translate endpoint (the TranslateText JSON protocol) on aiohttp.

boto3 posts ``/`` with ``X-Amz-Target: AWSShineFrontendService_20170701.TranslateText`` and an
``application/x-amz-json-1.1`` body. The answer is ``[<target>] <text>``, after a per-target
delay if scripted, or a scripted error. With ``words`` (target -> word -> translation) those
words are "translated"; a custom terminology named in the call keeps its terms as its target
column says (so a name stays a name).

Custom terminologies: ``ImportTerminology`` (CSV: a header of language codes, a row per term;
``MergeStrategy`` ``OVERWRITE``; ``UNI`` or ``MULTI``) and ``GetTerminology``, kept in
``terminologies``; ``TranslateText`` refuses more than one terminology name or an unknown one
like the service. ``refuse_terminology`` answers the terminology calls with a scripted error.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import json
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local_http import listen_locally

PREFIX = "AWSShineFrontendService_20170701."
TARGET = PREFIX + "TranslateText"


@dataclass
class FakeTerminology:
    """One imported terminology."""

    name: str
    description: str
    directionality: str
    languages: list[str]
    rows: list[list[str]]
    csv_text: str

    def pairs(self, source: str, target: str) -> list[tuple[str, str]]:
        """(source term, target term) usable from ``source`` to ``target``."""
        if source not in self.languages or target not in self.languages:
            return []
        if self.directionality != "MULTI" and self.languages[0] != source:
            return []
        s, t = self.languages.index(source), self.languages.index(target)
        return [(row[s], row[t]) for row in self.rows if row[s]]


@dataclass
class TranslateCall:
    """One request as received."""

    body: dict[str, Any]
    target_header: str
    authorization: str
    started: float
    finished: float | None = None

    @property
    def access_key(self) -> str:
        """The access key id from the SigV4 header."""
        return self.authorization.split("Credential=", 1)[-1].split("/", 1)[0]


@dataclass
class TranslateFake:
    """The endpoint. Scripts are keyed by TargetLanguageCode."""

    delays: dict[str, float] = field(default_factory=dict)
    failures: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    """target -> (HTTP status, error code, message)."""
    ssl_context: ssl.SSLContext | None = None
    words: dict[str, dict[str, str]] = field(default_factory=dict)
    """target -> {word: its "translation"} (whole words, as written)."""
    refuse_terminology: tuple[int, str, str] | None = None
    """Answer ImportTerminology and GetTerminology with (status, code, message)."""
    terminologies: dict[str, FakeTerminology] = field(default_factory=dict)
    terminology_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(ImportTerminology or GetTerminology, the request body), in order."""
    calls: list[TranslateCall] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        operation = request.headers.get("X-Amz-Target", "").removeprefix(PREFIX)
        if operation in ("ImportTerminology", "GetTerminology"):
            return self._terminology(operation, body)
        call = TranslateCall(
            body=body,
            target_header=request.headers.get("X-Amz-Target", ""),
            authorization=request.headers.get("Authorization", ""),
            started=time.monotonic(),
        )
        self.calls.append(call)
        target = str(body.get("TargetLanguageCode"))
        delay = self.delays.get(target, 0.0)
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        call.finished = time.monotonic()
        if call.target_header != TARGET:
            return self._error(400, "UnknownOperationException", call.target_header)
        if target in self.failures:
            return self._error(*self.failures[target])
        names = body.get("TerminologyNames", [])
        if len(names) > 1:
            return self._error(400, "ValidationException", "only one terminology per request")
        if names and names[0] not in self.terminologies:
            return self._error(400, "ResourceNotFoundException", f"no terminology {names[0]}")
        source = body["SourceLanguageCode"]
        pairs = self.terminologies[names[0]].pairs(source, target) if names else []
        text, applied = self._translate(body["Text"], self.words.get(target, {}), pairs)
        answer: dict[str, Any] = {
            "TranslatedText": f"[{target}] {text}",
            "SourceLanguageCode": source,
            "TargetLanguageCode": target,
        }
        if names:
            answer["AppliedTerminologies"] = [
                {
                    "Name": names[0],
                    "Terms": [{"SourceText": s, "TargetText": t} for s, t in applied],
                }
            ]
        return web.json_response(answer, content_type="application/x-amz-json-1.1")

    @staticmethod
    def _translate(
        text: str, words: dict[str, str], pairs: list[tuple[str, str]]
    ) -> tuple[str, list[tuple[str, str]]]:
        """Terms (exact, whole words) become their target form and are left alone; the other
        words go through ``words``."""
        applied: list[tuple[str, str]] = []
        pieces: list[str] = []
        pattern = "|".join(
            r"(?<!\w)" + re.escape(s) + r"(?!\w)"
            for s, _ in sorted(pairs, key=lambda p: -len(p[0]))
        )
        rest = text
        while pattern and (match := re.search(pattern, rest)):
            pieces.append(_words(rest[: match.start()], words))
            term = match.group(0)
            written = dict(pairs)[term]
            pieces.append(written)
            applied.append((term, written))
            rest = rest[match.end() :]
        pieces.append(_words(rest, words))
        return "".join(pieces), applied

    def _terminology(self, operation: str, body: dict[str, Any]) -> web.Response:
        self.terminology_calls.append((operation, body))
        if self.refuse_terminology is not None:
            return self._error(*self.refuse_terminology)
        name = str(body.get("Name", ""))
        if not re.fullmatch(r"([A-Za-z0-9-]_?)+", name) or len(name) > 256:
            return self._error(400, "InvalidParameterValueException", f"bad name {name!r}")
        if operation == "GetTerminology":
            found = self.terminologies.get(name)
            if found is None:
                return self._error(400, "ResourceNotFoundException", f"no terminology {name}")
            return self._ok({"TerminologyProperties": self._properties(found)})
        data = body.get("TerminologyData", {})
        if body.get("MergeStrategy") != "OVERWRITE" or data.get("Format") != "CSV":
            return self._error(400, "InvalidParameterValueException", "OVERWRITE and CSV only")
        text = base64.b64decode(data["File"]).decode("utf-8")
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
        if len(rows) < 2 or len(rows[0]) < 2 or any(len(r) != len(rows[0]) for r in rows):
            return self._error(400, "InvalidParameterValueException", "malformed terminology")
        found = FakeTerminology(
            name,
            str(body.get("Description", "")),
            str(data.get("Directionality", "UNI")),
            rows[0],
            rows[1:],
            text,
        )
        self.terminologies[name] = found
        return self._ok({"TerminologyProperties": self._properties(found)})

    @staticmethod
    def _properties(found: FakeTerminology) -> dict[str, Any]:
        return {
            "Name": found.name,
            "Description": found.description,
            "SourceLanguageCode": found.languages[0],
            "TargetLanguageCodes": found.languages[1:],
            "Directionality": found.directionality,
            "TermCount": len(found.rows),
            "Format": "CSV",
        }

    @staticmethod
    def _ok(body: dict[str, Any]) -> web.Response:
        return web.json_response(body, content_type="application/x-amz-json-1.1")

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        return web.json_response(
            {"__type": code, "message": message},
            status=status,
            headers={"x-amzn-ErrorType": code},
            content_type="application/x-amz-json-1.1",
        )

    async def start(self) -> TranslateFake:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner, self.port = await listen_locally(app, ssl_context=self.ssl_context)
        return self

    @property
    def url(self) -> str:
        """The endpoint URL."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Release delayed answers and stop."""
        self._closing.set()
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 10)


def _words(text: str, words: dict[str, str]) -> str:
    """``text`` with each whole word found in ``words`` replaced."""
    if not words:
        return text
    return re.sub(r"\w+", lambda m: words.get(m.group(0), m.group(0)), text)
