"""Failures of the AWS services classified for retry and fallback (pure): service error codes
and transport errors to error kinds. Tables in, expectations out; no SDK, no sockets."""

from __future__ import annotations

import pytest

from edge_server.engines.aws.errors import (
    BadRequestError,
    CredentialsError,
    EndpointError,
    ServiceUnavailableError,
    ThrottlingError,
    error_class,
    service_error,
    transport_error,
    transport_error_class,
)


@pytest.mark.parametrize(
    ("code", "status", "kind", "retryable"),
    [
        ("BadRequestException", 400, BadRequestError, False),
        ("LimitExceededException", None, ThrottlingError, True),
        ("ThrottlingException", 400, ThrottlingError, True),
        ("ServiceQuotaExceededException", 402, ThrottlingError, True),
        ("ServiceUnavailableException", 503, ServiceUnavailableError, True),
        ("InternalFailureException", 500, ServiceUnavailableError, True),
        ("ConflictException", 409, ServiceUnavailableError, True),
        ("UnrecognizedClientException", 403, CredentialsError, False),
        ("ExpiredTokenException", 403, CredentialsError, False),
        ("AccessDeniedException", 400, CredentialsError, False),
        ("ResourceNotFoundException", 400, BadRequestError, False),
        ("UnsupportedLanguagePairException", 400, BadRequestError, False),
        ("BadRequestException:http://internal.amazon.com/coral/x/", 400, BadRequestError, False),
        ("SomethingNew", 403, CredentialsError, False),
        ("SomethingNew", 429, ThrottlingError, True),
        ("SomethingNew", 502, ServiceUnavailableError, True),
        ("SomethingNew", 404, BadRequestError, False),
        (None, None, ServiceUnavailableError, True),
    ],
)
def test_service_error_kinds(code, status, kind, retryable):
    assert error_class(code, status) is kind
    error = service_error("Amazon Transcribe", code, status, "details here")
    assert isinstance(error, kind)
    assert error.retryable is retryable
    text = str(error)
    assert text.startswith("Amazon Transcribe: ")
    assert "details here" in text
    assert kind.hint in text


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("AWS_IO_SOCKET_CONNECTION_REFUSED", ServiceUnavailableError),
        ("AWS_IO_DNS_QUERY_FAILED", ServiceUnavailableError),
        ("AWS_ERROR_HTTP_CONNECTION_CLOSED", ServiceUnavailableError),
        ("AWS_IO_SOCKET_TIMEOUT", ServiceUnavailableError),
        ("AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE", EndpointError),
        ("AWS_IO_TLS_NEGOTIATION_TIMEOUT", ServiceUnavailableError),
        ("AWS_IO_DNS_INVALID_NAME", EndpointError),
        ("AWS_IO_FILE_VALIDATION_FAILURE", EndpointError),
        ("HTTPException", EndpointError),
        ("EndpointConnectionError", ServiceUnavailableError),
        ("ReadTimeoutError", ServiceUnavailableError),
        ("SSLError", EndpointError),
        ("NoCredentialsError", CredentialsError),
        ("NoRegionError", EndpointError),
        ("ParamValidationError", BadRequestError),
    ],
)
def test_transport_error_kinds(name, kind):
    assert transport_error_class(name) is kind
    error = transport_error("Amazon Translate", name, "it broke", "https://example.test")
    assert isinstance(error, kind)
    assert "https://example.test" in str(error)
    assert error.code == name
