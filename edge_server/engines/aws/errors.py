"""Errors of the cloud engines, classified for the room's retry and fallback logic. Pure.

Every failure of Transcribe, Translate or Polly becomes one of five :class:`CloudEngineError`
kinds, each with ``retryable`` and a message that says what happened and what to check. The
tables below map service error codes (the same names across the AWS services), HTTP statuses
and transport failures (``awscrt`` error names, botocore exception class names) to a kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge_server.core.engine_api import EngineError


class CloudEngineError(EngineError):
    """A cloud engine failed; ``retryable`` says whether trying again later can help."""

    retryable: bool = False
    """True for transient failures (throttling, outages, dropped connections, timeouts)."""
    summary: str = "failed"
    hint: str = ""

    def __init__(self, message: str, *, service: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.service = service
        """The service's display name (``Amazon Transcribe``)."""
        self.code = code
        """The service error code or transport error name, when there is one."""


class CredentialsError(CloudEngineError):
    """Credentials are missing, expired, invalid, or not allowed to call the service."""

    summary = "credentials missing, expired or refused"
    hint = (
        "check the node's AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or its role), its IAM policy and its clock"
    )


class EndpointError(CloudEngineError):
    """The region lacks the service, or the endpoint or its certificate is wrong."""

    summary = "no usable endpoint"
    hint = "check the region and any endpoint or CA override (AWS_ENDPOINT_URL*, AWS_CA_BUNDLE)"


class ThrottlingError(CloudEngineError):
    """The account is over a rate limit or a quota (e.g. concurrent streams)."""

    retryable = True
    summary = "throttled or over a quota"
    hint = "will retry with backoff; raise the account's quota if it persists"


class ServiceUnavailableError(CloudEngineError):
    """The service failed or could not be reached: outage, dropped connection, timeout."""

    retryable = True
    summary = "unavailable or unreachable"
    hint = "will retry with backoff (network down, or a service outage)"


class BadRequestError(CloudEngineError):
    """The service refused the request as invalid (a setting, a name, a language)."""

    summary = "request refused as invalid"
    hint = "check the room's settings (languages, vocabulary, terminology, voice)"


_CODE_KINDS: dict[type[CloudEngineError], Iterable[str]] = {
    CredentialsError: (
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "AccessDeniedException",
        "AccessDenied",
        "NotAuthorized",
        "RequestExpired",
        "CredentialsException",
    ),
    ThrottlingError: (
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceQuotaExceededException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
    ),
    ServiceUnavailableError: (
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailureException",
        "InternalFailure",
        "InternalServerException",
        "InternalServerError",
        "ServiceFailureException",
        "ConflictException",
        "RequestTimeout",
        "RequestTimeoutException",
    ),
    BadRequestError: (
        "BadRequestException",
        "ValidationException",
        "SerializationException",
        "InvalidRequestException",
        "InvalidParameterValueException",
        "ResourceNotFoundException",
        "UnsupportedLanguagePairException",
        "DetectedLanguageLowConfidenceException",
        "TextSizeLimitExceededException",
        "TextLengthExceededException",
        "LanguageNotSupportedException",
        "EngineNotSupportedException",
        "InvalidSampleRateException",
        "LexiconNotFoundException",
        "InvalidSsmlException",
    ),
}
_BY_CODE = {code: kind for kind, codes in _CODE_KINDS.items() for code in codes}

_TRANSPORT_KINDS: dict[str, type[CloudEngineError]] = {
    # botocore exception class names
    "NoCredentialsError": CredentialsError,
    "PartialCredentialsError": CredentialsError,
    "CredentialRetrievalError": CredentialsError,
    "UnauthorizedSSOTokenError": CredentialsError,
    "SSOTokenLoadError": CredentialsError,
    "TokenRetrievalError": CredentialsError,
    "NoRegionError": EndpointError,
    "InvalidRegionError": EndpointError,
    "SSLError": EndpointError,
    "InvalidEndpointConfigurationError": EndpointError,
    "ParamValidationError": BadRequestError,
    # awscrt error names and the transcribe SDK's own
    "AWS_IO_DNS_INVALID_NAME": EndpointError,
    "AWS_IO_FILE_VALIDATION_FAILURE": EndpointError,
    "AWS_IO_TLS_NEGOTIATION_TIMEOUT": ServiceUnavailableError,
    "HTTPException": EndpointError,
}


def error_class(code: str | None, status: int | None = None) -> type[CloudEngineError]:
    """The kind of a service error from its code, else from its HTTP status."""
    if code:
        kind = _BY_CODE.get(code.split(":", 1)[0].strip())
        if kind is not None:
            return kind
    if status is None:
        return ServiceUnavailableError
    if status in (401, 403):
        return CredentialsError
    if status == 429:
        return ThrottlingError
    if status >= 500 or status == 408:
        return ServiceUnavailableError
    if 400 <= status < 500:
        return BadRequestError
    return ServiceUnavailableError


def transport_error_class(name: str) -> type[CloudEngineError]:
    """The kind of a failure below the service: connection, DNS, TLS, local configuration."""
    kind = _TRANSPORT_KINDS.get(name)
    if kind is not None:
        return kind
    if "TLS" in name or "CERT" in name.upper() or "X509" in name:
        return EndpointError
    return ServiceUnavailableError


def _with_hint(kind: type[CloudEngineError], text: str) -> str:
    return f"{text}; {kind.hint}" if kind.hint else text


def service_error(
    service: str, code: str | None, status: int | None, detail: str
) -> CloudEngineError:
    """An error the service answered with (code such as ``LimitExceededException``)."""
    kind = error_class(code, status)
    label = code or (f"HTTP {status}" if status is not None else "error")
    text = f"{service}: {kind.summary} ({label}: {detail.strip() or 'no details'})"
    return kind(_with_hint(kind, text), service=service, code=code)


def transport_error(service: str, name: str, detail: str, where: str = "") -> CloudEngineError:
    """A failure to reach or talk to the service (``where`` names the endpoint)."""
    kind = transport_error_class(name)
    place = f" at {where}" if where else ""
    text = f"{service}: {kind.summary}{place} ({name}: {detail.strip() or 'no details'})"
    return kind(_with_hint(kind, text), service=service, code=name)


def missing_credentials(service: str) -> CredentialsError:
    """No credentials anywhere in the default chain."""
    return CredentialsError(
        f"{service}: no AWS credentials found (looked in the environment, the shared config "
        "and credentials files of AWS_PROFILE, and container and instance roles); "
        + CredentialsError.hint,
        service=service,
        code="NoCredentials",
    )


def no_region(service: str) -> EndpointError:
    """No region configured anywhere."""
    return EndpointError(
        f"{service}: no AWS region configured; set the room's region, AWS_REGION, or a region "
        "in the AWS profile",
        service=service,
        code="NoRegion",
    )


def region_without_service(service: str, region: str, available: Iterable[str]) -> EndpointError:
    """The region exists but does not offer the service."""
    listed = ", ".join(sorted(available))
    return EndpointError(
        f"{service} is not available in region {region}; choose one of: {listed} "
        "(or set an endpoint override)",
        service=service,
        code="RegionWithoutService",
    )


def timeout_error(service: str, what: str, seconds: float, where: str = "") -> CloudEngineError:
    """Nothing came back in time (network down, a proxy, or a certificate not trusted)."""
    place = f" from {where}" if where else ""
    return ServiceUnavailableError(
        f"{service}: no answer{place} to {what} within {seconds:g} s (network down, a proxy "
        "in the way, or a TLS certificate the node does not trust); "
        + ServiceUnavailableError.hint,
        service=service,
        code="Timeout",
    )
