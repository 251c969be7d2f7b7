"""The server's own TLS: certificate and key from settings or systemd credentials, and a clear
error for every way the files can be wrong (missing, unreadable, not PEM, mismatched,
encrypted), at start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from edge_server.core.settings import TLS_CREDENTIALS, SettingsError, load_settings
from edge_server.web.tls import TlsError, server_context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def files(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    """A certificate, its key, the key of another certificate, both in one file, garbage."""
    leaf, other = ca.issue_cert("127.0.0.1", "localhost"), ca.issue_cert("localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("crt", "key", "other_key", "both", "junk")}
    for pem in leaf.cert_chain_pems:
        pem.write_to_path(str(paths["crt"]), append=True)
    leaf.private_key_pem.write_to_path(str(paths["key"]))
    other.private_key_pem.write_to_path(str(paths["other_key"]))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(paths["both"]))
    paths["junk"].write_text("this is not a certificate\n")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    paths["locked"] = tmp_path / "locked.pem"
    paths["locked"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret passphrase"),
        )
    )
    return paths


def test_a_certificate_and_its_key_make_a_context(files: dict[str, Path]) -> None:
    assert server_context(files["crt"], files["key"]).minimum_version >= 771  # TLS 1.2
    assert server_context(files["both"], None) is not None  # the key in the certificate file


@pytest.mark.parametrize(
    ("crt", "key", "message"),
    [
        ("missing", "key", r"tls_certificate .*missing\.pem: no such file"),
        ("crt", "missing", r"tls_key .*missing\.pem: no such file"),
        ("folder", "key", r"tls_certificate .*: is a folder, not a certificate file"),
        ("junk", "key", r"tls_certificate .*junk\.pem: no PEM certificate in it"),
        ("crt", "junk", r"tls_key .*junk\.pem: no PEM private key in it"),
        ("key", "key", r"tls_certificate .*key\.pem: no PEM certificate in it"),
        ("crt", None, r"tls_certificate .*crt\.pem: no PEM private key in it"),
        ("crt", "other_key", r"tls_key .*other_key\.pem does not belong to tls_certificate"),
        ("crt", "locked", r"tls_key .*locked\.pem: the private key is encrypted with a passphrase"),
    ],
)
def test_unusable_files_are_named(
    files: dict[str, Path], tmp_path: Path, crt: str, key: str | None, message: str
) -> None:
    paths = {**files, "missing": tmp_path / "missing.pem", "folder": tmp_path}
    with pytest.raises(TlsError, match=message):
        server_context(paths[crt], paths[key] if key else None)


def test_an_unreadable_key_is_named(files: dict[str, Path]) -> None:
    """As the service's unprivileged user (root reads everything): a forked child drops to
    ``nobody`` and reports what it was told. The certificate is readable, the key is not."""
    folder = Path(tempfile.mkdtemp(prefix="tls-perm-"))  # pytest's tmp is root-only
    try:
        folder.chmod(0o755)
        crt, key = folder / "crt.pem", folder / "key.pem"
        shutil.copy(files["crt"], crt)
        shutil.copy(files["key"], key)
        crt.chmod(0o644)
        key.chmod(0o600)
        message = _as_nobody(crt, key)
    finally:
        shutil.rmtree(folder)
    assert message.startswith("tls_key "), message
    assert "permission denied for uid 65534" in message, message


def _as_nobody(crt: Path, key: Path) -> str:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
            server_context(crt, key)
            message = "no error"
        except TlsError as exc:
            message = str(exc)
        except BaseException as exc:  # anything else is reported, not raised
            message = repr(exc)
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    message = os.read(read, 4096).decode()
    os.close(read)
    assert status == 0
    return message


def test_credentials_are_the_default(files: dict[str, Path], tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    assert load_settings(env=env).tls_certificate is None  # none there: plain HTTP
    assert load_settings(env=env).scheme == "http"
    (credentials / "tls.pem").write_bytes(files["both"].read_bytes())
    combined = load_settings(env=env)
    assert (combined.tls_certificate, combined.tls_key) == (credentials / "tls.pem", None)
    (credentials / "tls.crt").write_bytes(files["crt"].read_bytes())
    (credentials / "tls.key").write_bytes(files["key"].read_bytes())
    pair = load_settings(env=env)
    assert (pair.tls_certificate, pair.tls_key) == (
        credentials / "tls.crt",
        credentials / "tls.key",
    )
    assert pair.scheme == "https"
    # An explicit setting wins over the credentials.
    explicit = load_settings(
        env={**env, "EDGE_SERVER_TLS_CERTIFICATE": str(files["both"]), "EDGE_SERVER_TLS_KEY": ""}
    )
    assert (explicit.tls_certificate, explicit.tls_key) == (files["both"], None)


def test_a_key_credential_alone_is_an_error(files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "tls.key").write_bytes(files["key"].read_bytes())
    with pytest.raises(SettingsError, match=r"tls\.key has no tls\.crt beside it"):
        load_settings(env={"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_a_key_without_a_certificate_is_an_error(files: dict[str, Path]) -> None:
    with pytest.raises(SettingsError, match="tls_key is set but tls_certificate is not"):
        load_settings(env={"EDGE_SERVER_TLS_KEY": str(files["key"])})


def test_the_server_stops_at_start_naming_the_mismatch(
    files: dict[str, Path], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "EDGE_SERVER_TLS_CERTIFICATE": str(files["crt"]),
        "EDGE_SERVER_TLS_KEY": str(files["other_key"]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "edge_server.cli", "serve", "--state-dir", str(tmp_path / "s")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "configuration error: tls_key" in out.stderr
    assert "does not belong to tls_certificate" in out.stderr


def test_the_unit_loads_the_certificate_by_name_only() -> None:
    """systemd/edge-server.service hands over ``tls.pem`` from the credential store by name: a
    missing file is skipped (an absolute path would stop the service from starting), and the
    name is one the server reads."""
    unit = (Path(__file__).parents[3] / "systemd" / "edge-server.service").read_text()
    lines = [line for line in unit.splitlines() if line.startswith("LoadCredential=tls")]
    assert lines == ["LoadCredential=tls.pem:edge-server-tls.pem"]
    name, _, source = lines[0].removeprefix("LoadCredential=").partition(":")
    assert name in TLS_CREDENTIALS
    assert not source.startswith("/")
