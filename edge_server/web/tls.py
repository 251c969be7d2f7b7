"""HTTPS and WSS served by the server itself: the TLS context from the certificate and key files
(settings ``tls_certificate``/``tls_key``, or the ``tls.crt``/``tls.key`` systemd credentials),
with an error that names the file and what is wrong with it, at start rather than at the first
phone.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path


class TlsError(Exception):
    """The certificate or key cannot be used; the message says which file and why."""


def _read_pem(setting: str, path: Path, marker: str, what: str) -> None:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"{setting} {path}: no such file") from None
    except IsADirectoryError:
        raise TlsError(f"{setting} {path}: is a folder, not a {what} file") from None
    except PermissionError:
        raise TlsError(
            f"{setting} {path}: permission denied for uid {os.getuid()} "
            "(give the file to the service, or pass it as a systemd credential)"
        ) from None
    except OSError as exc:
        raise TlsError(f"{setting} {path}: cannot read: {exc.strerror or exc}") from None
    if marker.encode() not in text:
        raise TlsError(f"{setting} {path}: no PEM {what} in it (expected a '{marker}' block)")


def server_context(certificate: Path, key: Path | None) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or newer) presenting ``certificate`` with ``key`` (None:
    the key is in the certificate file). Raises :class:`TlsError` with a clear reason."""
    _read_pem("tls_certificate", certificate, "-----BEGIN CERTIFICATE-----", "certificate")
    key_setting = "tls_key" if key is not None else "tls_certificate"
    _read_pem(key_setting, key or certificate, "PRIVATE KEY-----", "private key")
    asked: list[bool] = []

    def no_passphrase() -> bytes:
        asked.append(True)
        return b""  # never prompt on a terminal nobody watches

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certificate, key, password=no_passphrase)
    except ssl.SSLError as exc:
        if asked:
            raise TlsError(
                f"{key_setting} {key or certificate}: the private key is encrypted with a "
                "passphrase; give the service an unencrypted key (readable by it only)"
            ) from None
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsError(
                f"tls_key {key} does not belong to tls_certificate {certificate} "
                "(the key of another certificate?)"
            ) from None
        raise TlsError(
            f"tls_certificate {certificate} / {key_setting} {key or certificate}: "
            f"not a usable certificate and key: {exc.reason or exc}"
        ) from None
    return context
