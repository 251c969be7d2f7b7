"""A local Amazon Translate endpoint (the TranslateText JSON protocol) on aiohttp.

boto3 posts ``/`` with ``X-Amz-Target: AWSShineFrontendService_20170701.TranslateText`` and an
``application/x-amz-json-1.1`` body. The answer is ``[<target>] <text>``, after a per-target
delay if scripted, or a scripted error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TARGET = "AWSShineFrontendService_20170701.TranslateText"


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
    calls: list[TranslateCall] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
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
        answer = {
            "TranslatedText": f"[{target}] {body['Text']}",
            "SourceLanguageCode": body["SourceLanguageCode"],
            "TargetLanguageCode": target,
            "AppliedTerminologies": [{"Name": n} for n in body.get("TerminologyNames", [])],
        }
        return web.json_response(answer, content_type="application/x-amz-json-1.1")

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
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
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
