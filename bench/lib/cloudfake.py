"""The local Amazon Transcribe fake (HTTP/2 + TLS, tests/fakes) for a server under test.

The fake runs in the calling process; the server reaches it through the standard ``AWS_*``
variables, as in tests/edge_server/rooms/test_cloud_room.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


@asynccontextmanager
async def transcribe_fake(folder: Path) -> AsyncIterator[dict[str, str]]:
    """The local Transcribe fake (in this process); yields the server's environment."""
    from tests.fakes.tls import make_ca
    from tests.fakes.transcribe_fake import TranscribeFake

    ca = make_ca(folder)
    async with TranscribeFake(ca) as fake:
        yield {
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDBENCHFAKE000000",
            "AWS_SECRET_ACCESS_KEY": "bench-secret-not-real",
            "AWS_CA_BUNDLE": str(ca.ca_file),
            "AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING": fake.url,
            "AWS_CONFIG_FILE": str(folder / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
