"""Amazon Translate as a room's translator: one call per final and target, all at once.

boto3 is synchronous, so calls run on the translator's own small thread pool (never the event
loop, never the loop's default executor). The client is created once; boto3 resolves
``AWS_ENDPOINT_URL_TRANSLATE``/``AWS_ENDPOINT_URL``, ``AWS_CA_BUNDLE`` and the credential chain
by itself. Every call has a timeout; a target that fails or times out is left out of the
result and logged with its error class, and never delays the other targets.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from edge_server.core.glossary import Glossary
from edge_server.engines.aws.config import boto3_client, boto3_error, new_session
from edge_server.engines.aws.errors import CloudEngineError, timeout_error
from edge_server.engines.translate.terminology import TerminologyKeeper

log = logging.getLogger(__name__)

SERVICE = "Amazon Translate"
SERVICE_ID = "Translate"
"""Its endpoint variable is ``AWS_ENDPOINT_URL_TRANSLATE``."""

# Translate's codes are mostly bare languages; these regional variants are distinct languages.
_REGIONAL = frozenset({"fa-AF", "fr-CA", "es-MX", "pt-PT", "zh-TW"})


def translate_code(code: str) -> str:
    """The Translate language code for a BCP 47 code (``en-US`` -> ``en``). Pure."""
    parts = code.replace("_", "-").split("-")
    if len(parts) >= 2:
        regional = f"{parts[0].lower()}-{parts[1].upper()}"
        if regional in _REGIONAL:
            return regional
    return parts[0].lower()


@dataclass(frozen=True)
class TranslateOptions:
    """How a room uses Amazon Translate."""

    region: str | None = None
    """AWS region; None: ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile's region."""
    terminology_names: tuple[str, ...] = ()
    """Custom terminologies (by name) applied to every call: names and jargon. Translate
    applies one per call; when set, the glossary's terminology is not built."""
    glossary_terminology: bool = True
    """Without ``terminology_names``: import a custom terminology ``edge-<room>`` from the
    room's glossary terms (:mod:`.terminology`) and name it in every call once imported."""
    timeout_s: float = 5.0
    """Longest wait for one translation; a later answer is dropped."""
    max_concurrency: int = 8
    """Threads for calls in flight (targets times overlapping finals)."""
    endpoint_url: str | None = None
    """Endpoint override; None: ``AWS_ENDPOINT_URL_TRANSLATE``, ``AWS_ENDPOINT_URL`` or the
    profile (boto3 resolves them), else the regional endpoint."""
    ca_bundle: str | None = None
    """PEM file of CAs to trust; None: ``AWS_CA_BUNDLE`` or the profile's (boto3)."""

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if not 1 <= self.max_concurrency <= 64:
            raise ValueError("max_concurrency must be within 1-64")
        if len(self.terminology_names) > 1:
            raise ValueError("Amazon Translate applies one custom terminology per request")


def classify(exc: BaseException, service: str = SERVICE) -> CloudEngineError:
    """The CloudEngineError for anything boto3 raised."""
    return boto3_error(exc, service)


class TranslateTranslator:
    """Amazon Translate for one room (or several: it holds no room state)."""

    name = "amazon-translate"

    def __init__(
        self,
        options: TranslateOptions,
        *,
        session: Any = None,
        environ: Mapping[str, str] | None = None,
        room: str = "",
    ) -> None:
        """Creates the boto3 client; ``room`` names the glossary's terminology (none
        without). A configuration problem (no region, a region without Translate) is kept and
        raised by :meth:`translate`, so the server still starts."""
        self.options = options
        self._executor = ThreadPoolExecutor(options.max_concurrency, "translate")
        self._client: Any = None
        self.config_error: CloudEngineError | None = None
        self.calls = 0
        self.failures = 0
        self.characters = 0
        """Source characters sent (Translate bills per character and target)."""
        botocore_session = session if session is not None else new_session()
        try:
            self._client, _ = boto3_client(
                SERVICE,
                SERVICE_ID,
                "translate",
                session=botocore_session,
                region=options.region,
                endpoint_url=options.endpoint_url,
                ca_bundle=options.ca_bundle,
                environ=os.environ if environ is None else environ,
                timeout_s=options.timeout_s,
                attempts=1,
                pool=options.max_concurrency,
            )
        except CloudEngineError as exc:
            self.config_error = exc
            log.error("%s", exc)
        self.terminology: TerminologyKeeper | None = None
        if room and options.glossary_terminology and not options.terminology_names:
            self.terminology = TerminologyKeeper(room, self._require_client, self._executor)

    def _require_client(self) -> Any:
        if self._client is None:
            raise self.config_error or CloudEngineError(f"{SERVICE}: no client", service=SERVICE)
        return self._client

    def use_glossary(self, glossary: Glossary, languages: Sequence[str]) -> None:
        """Import (in the background) the custom terminology of the glossary's terms for the
        room's ``languages``; every call names it once it is there."""
        if self.terminology is not None:
            codes = [translate_code(code) for code in languages]
            self.terminology.use(glossary.terms, codes)

    def glossary_status(self) -> dict[str, Any] | None:
        """The custom terminology: configured by name, or built from the glossary."""
        if self.options.terminology_names:
            return {"terminology": "configured", "names": list(self.options.terminology_names)}
        if self.terminology is None:
            return None
        return {"terminology": "glossary"} | self.terminology.status()

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> dict[str, str]:
        """Translations of ``text`` for each target; a target that failed is absent.

        Raises CloudEngineError only when the translator is not configured (no region...).
        """
        if self.config_error is not None:
            raise self.config_error
        wanted = [t for t in dict.fromkeys(targets) if translate_code(t) != translate_code(source)]
        if not text.strip() or not wanted:
            return {}
        answers = await asyncio.gather(*(self._one(text, source, t) for t in wanted))
        return {target: answer for target, answer in zip(wanted, answers, strict=True) if answer}

    async def _one(self, text: str, source: str, target: str) -> str | None:
        loop = asyncio.get_running_loop()
        terminologies = self.options.terminology_names
        if not terminologies and self.terminology is not None:
            ready = self.terminology.ready_name()
            terminologies = (ready,) if ready else ()
        call = functools.partial(
            self._call, text, translate_code(source), translate_code(target), terminologies
        )
        self.calls += 1
        self.characters += len(text)
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, call), self.options.timeout_s
            )
        except TimeoutError:
            error: CloudEngineError = timeout_error(
                SERVICE, f"a translation into {target}", self.options.timeout_s
            )
        except Exception as exc:
            error = classify(exc)
        self.failures += 1
        log.warning("translation into %s failed: %s: %s", target, type(error).__name__, error)
        return None

    def _call(self, text: str, source: str, target: str, terminologies: tuple[str, ...]) -> str:
        arguments: dict[str, Any] = {
            "Text": text,
            "SourceLanguageCode": source,
            "TargetLanguageCode": target,
        }
        if terminologies:
            arguments["TerminologyNames"] = list(terminologies)
        response = self._client.translate_text(**arguments)
        return str(response["TranslatedText"])

    async def close(self) -> None:
        """Stop the thread pool (calls in flight finish in the background)."""
        if self.terminology is not None:
            await self.terminology.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
