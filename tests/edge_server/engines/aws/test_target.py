"""Where the AWS engines connect (pure): endpoint variables, configured endpoints and regions in
their order of priority, region checks. Tables in, expectations out; no SDK, no sockets."""

from __future__ import annotations

import pytest

from edge_server.engines.aws.errors import EndpointError
from edge_server.engines.aws.target import (
    check_region,
    configured_endpoint,
    resolve_region,
    service_env_name,
)


def test_service_env_names():
    assert service_env_name("Transcribe Streaming") == "AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING"
    assert service_env_name("Translate") == "AWS_ENDPOINT_URL_TRANSLATE"
    assert service_env_name("Polly") == "AWS_ENDPOINT_URL_POLLY"


@pytest.mark.parametrize(
    ("environ", "scoped", "services", "expected"),
    [
        ({}, {}, {}, None),
        ({"AWS_ENDPOINT_URL": "https://all"}, {}, {}, "https://all"),
        (
            {
                "AWS_ENDPOINT_URL": "https://all",
                "AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING": "https://t",
            },
            {},
            {},
            "https://t",
        ),
        ({}, {"endpoint_url": "https://profile"}, {}, "https://profile"),
        (
            {},
            {"endpoint_url": "https://profile"},
            {"transcribe_streaming": {"endpoint_url": "https://svc"}},
            "https://svc",
        ),
        (
            {"AWS_ENDPOINT_URL": "https://all", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            {},
            {},
            None,
        ),
        (
            {"AWS_ENDPOINT_URL": "https://all"},
            {"ignore_configured_endpoint_urls": "true"},
            {},
            None,
        ),
    ],
)
def test_configured_endpoint_order(environ, scoped, services, expected):
    assert configured_endpoint("Transcribe Streaming", environ, scoped, services) == expected


@pytest.mark.parametrize(
    ("explicit", "environ", "profile", "expected"),
    [
        ("eu-west-1", {"AWS_REGION": "us-east-1"}, "us-west-2", "eu-west-1"),
        (None, {"AWS_REGION": "us-east-1"}, "us-west-2", "us-east-1"),
        (None, {}, "us-west-2", "us-west-2"),
        (None, {}, None, None),
    ],
)
def test_region_order(explicit, environ, profile, expected):
    assert resolve_region(explicit, environ, profile) == expected


def test_region_checks():
    service = frozenset({"us-east-1", "eu-west-1"})
    every = service | {"eu-south-1"}
    check_region("Amazon Transcribe", "us-east-1", service, every)
    with pytest.raises(EndpointError, match="not available in region eu-south-1") as missing:
        check_region("Amazon Transcribe", "eu-south-1", service, every)
    assert "eu-west-1, us-east-1" in str(missing.value)
    assert missing.value.retryable is False
    with pytest.raises(EndpointError, match="unknown AWS region 'eu-wset-1'"):
        check_region("Amazon Transcribe", "eu-wset-1", service, every)
