"""A throwaway certificate authority for the TLS fakes (trustme)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass
class LocalCA:
    """A CA whose PEM file clients trust, and a server certificate for 127.0.0.1/localhost."""

    ca: trustme.CA
    ca_file: Path
    server_cert: trustme.LeafCert

    def server_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        """A server-side TLS context presenting the leaf certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context


def make_ca(folder: Path) -> LocalCA:
    """Create a CA, write its PEM to ``folder / "test-ca.pem"``, issue a localhost cert."""
    ca = trustme.CA()
    ca_file = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return LocalCA(ca=ca, ca_file=ca_file, server_cert=ca.issue_cert("127.0.0.1", "localhost"))
