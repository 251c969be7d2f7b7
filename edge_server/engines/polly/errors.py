"""Polly failures as :class:`CloudEngineError` kinds, from boto3 and amazon-polly-streaming."""

from __future__ import annotations

import json
import re

import botocore.exceptions  # type: ignore[import-untyped]

from edge_server.engines.aws.errors import (
    CloudEngineError,
    CredentialsError,
    service_error,
    transport_error,
)

SERVICE = "Amazon Polly"
_STATUS = re.compile(r"status (\d{3})")
_STREAMING_CODES = frozenset(
    {
        "ServiceFailureException",
        "ValidationException",
        "ServiceQuotaExceededException",
        "ThrottlingException",
    }
)


def _body_code(text: str) -> str | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        body = json.loads(text[start:])
    except ValueError:
        return None
    kind = body.get("__type") if isinstance(body, dict) else None
    return str(kind).rsplit("#", 1)[-1] if kind else None


def classify(exc: BaseException) -> CloudEngineError:
    """The CloudEngineError for anything boto3 or the streaming library raised."""
    if isinstance(exc, CloudEngineError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return service_error(SERVICE, error.get("Code"), status, str(error.get("Message", "")))
    if name in _STREAMING_CODES or name == "ServiceException":
        return service_error(SERVICE, name, None, str(exc))
    if isinstance(exc, RuntimeError):
        text = str(exc)
        status = _STATUS.search(text)
        if status:
            return service_error(SERVICE, _body_code(text), int(status.group(1)), text)
        if "credentials" in text.lower():
            return CredentialsError(f"{SERVICE}: {text}", service=SERVICE, code="NoCredentials")
    crt_name = getattr(exc, "name", None)
    if isinstance(crt_name, str) and crt_name.startswith("AWS_"):
        return transport_error(SERVICE, crt_name, str(getattr(exc, "message", exc)))
    return transport_error(SERVICE, name, str(exc))
