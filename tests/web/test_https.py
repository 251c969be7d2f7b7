"""HTTPS end to end: ``edge-server serve`` with its certificate from the systemd credentials
(``tls.crt``/``tls.key``, signed by a local CA as a venue would make one), the audio node's
``wss://`` uplink trusting that CA, and the kiosk and listener pages in real Chromium that
trusts it too: a secure context, so the listener page holds a screen wake lock; the tokens
leave the address bar after first use.

Chromium trusts the CA through ``--ignore-certificate-errors-spki-list`` with the CA's public
key hash (certutil, to write an NSS database, is not installed by the project's setup): the
server presents the full chain (leaf, then CA), as a venue's ``fullchain.pem`` would, and only a
chain that contains the CA's key is accepted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.fakes.tls import LocalCA, make_ca
from tests.faults.helpers import free_port
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.processes import EDGE_AUDIO

pytestmark = [pytest.mark.browser, pytest.mark.speech, pytest.mark.timeout(240)]

AUDIO_TOKEN = "audio-secret-0123456789"
LISTENER_TOKEN = "listen-secret-0123456789"
ADMIN_TOKEN = "admin-secret-0123456789"
UI_WAIT_MS = 20000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@dataclass
class HttpsServer:
    """A running ``edge-server serve`` over TLS."""

    url: str
    ca: LocalCA
    log: Path


def spki_hash(pem: bytes) -> str:
    """Chromium's form of a certificate's public key: base64 of the SHA-256 of its SPKI."""
    key = x509.load_pem_x509_certificate(pem).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[HttpsServer]:
    ca = make_ca(tmp_path)
    credentials = tmp_path / "credentials"  # what systemd's LoadCredential= makes
    credentials.mkdir(mode=0o700)
    chain = b"".join(pem.bytes() for pem in ca.server_cert.cert_chain_pems) + ca.ca.cert_pem.bytes()
    (credentials / "tls.crt").write_bytes(chain)
    (credentials / "tls.key").write_bytes(ca.server_cert.private_key_pem.bytes())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_SERVER_", "EDGE_AUDIO"))}
    env.update(
        CREDENTIALS_DIRECTORY=str(credentials),
        EDGE_SERVER_AUDIO_TOKEN=AUDIO_TOKEN,
        EDGE_SERVER_LISTENER_TOKEN=LISTENER_TOKEN,
        EDGE_SERVER_ADMIN_TOKEN=ADMIN_TOKEN,
    )
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_server.cli", "serve", "--port", str(port),
             "--state-dir", str(tmp_path / "state"), "--no-fsync"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        url = f"https://127.0.0.1:{port}"
        _wait_healthy(url, ca.ca_file, proc, log)
        yield HttpsServer(url, ca, log)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(url: str, ca_file: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca_file))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with (
                socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), 2) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(
                    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                )
                if tls.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the https server did not answer within 60 s:\n{log.read_text()}")


@pytest.fixture
async def chromium(https_server: HttpsServer) -> AsyncIterator[Browser]:
    """Debian's Chromium trusting the local CA (by its key), nothing else."""
    trust = (
        f"--ignore-certificate-errors-spki-list={spki_hash(https_server.ca.ca.cert_pem.bytes())}"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, trust], timeout=15000
        )
        yield browser
        await browser.close()


async def stream_file(server: HttpsServer, wav: Path, **env: str) -> tuple[int, str, str]:
    """``edge-audio stream-file`` to the server's https address; exit code, stdout, stderr."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_AUDIO")}
    child_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        *EDGE_AUDIO, "stream-file", str(wav), "--server", server.url, "--room", "main",
        "--lang", "en-US", "--speed", "2",
        env=child_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def open_page(browser: Browser, url: str, **options: object) -> Page:
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(UI_WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page


async def test_pages_and_uplink_over_https(
    https_server: HttpsServer, chromium: Browser, librivox_files: list[tuple[Path, str]]
) -> None:
    server = https_server
    wav = librivox_files[1][0]

    # The audio node without the venue's CA: refused with a reason that says what to set.
    code, _, err = await stream_file(server, wav, EDGE_AUDIO_TOKEN=AUDIO_TOKEN)
    assert code == 4, err
    assert "TLS certificate is not trusted" in err
    assert "EDGE_AUDIO_CA_FILE" in err

    # The phone: a secure context, the wake lock held, the token gone from the address bar.
    phone = await open_page(chromium, f"{server.url}/listen/main?token={LISTENER_TOKEN}", **PHONE)
    app = phone.locator('[data-part="app"]')
    await expect(app).to_have_attribute("data-connection", "open")
    assert await phone.evaluate("isSecureContext") is True
    assert phone.url == f"{server.url}/listen/main"
    await expect(app).to_have_attribute("data-wake", "on")
    assert await phone.evaluate("window.listenerWake.requests") == 1
    assert await phone.evaluate("window.listenerWake.sentinel.released") is False
    await expect(phone.locator('[data-part="wake"]')).to_have_text(
        "The screen stays on while this page is open."
    )

    # The monitor.
    kiosk = await open_page(
        chromium,
        f"{server.url}/kiosk/main?token={LISTENER_TOKEN}",
        viewport={"width": 1920, "height": 1080},
    )
    await expect(kiosk.locator("body")).to_have_attribute("data-connection", "open")

    # The audio node with the CA: wss:// reaches the server, finals come back.
    code, out, err = await stream_file(
        server, wav, EDGE_AUDIO_TOKEN=AUDIO_TOKEN, EDGE_AUDIO_CA_FILE=str(server.ca.ca_file)
    )
    assert code == 0, err
    done = [line for line in out.splitlines() if line.startswith("done:")]
    assert done, out
    finals = int(done[0].split(" final(s)")[0].rsplit(" ", 1)[1])
    assert finals >= 1, out
    print(f"\nhttps: edge-audio stream-file over wss:// with the local CA: {done[0]}")
    await expect(kiosk.locator(".captions .final .source").last).to_contain_text("young man")
    await expect(phone.locator(".final").last).to_contain_text("young man")

    # The browser drops the lock (the page was hidden); visible again, the page asks again.
    await phone.evaluate("window.listenerWake.sentinel.release()")
    await expect(app).to_have_attribute("data-wake", "off")
    await phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await expect(app).to_have_attribute("data-wake", "on")
    assert await phone.evaluate("window.listenerWake.requests") == 2

    # A reload (or a reconnect) still has the token: kept for this tab, not in the address.
    await phone.reload()
    await expect(app).to_have_attribute("data-connection", "open")
    assert phone.url == f"{server.url}/listen/main"
    await expect(phone.locator(".final").last).to_contain_text("young man")

    # The door sign: its admin token leaves the address bar too.
    door = await open_page(chromium, f"{server.url}/static/door.html?room=main&token={ADMIN_TOKEN}")
    await expect(door.locator("img")).to_have_attribute(
        "src", f"/rooms/main/qr.svg?token={ADMIN_TOKEN}"
    )
    assert door.url == f"{server.url}/static/door.html?room=main"

    for page in (phone, kiosk, door):
        assert page.errors == []  # type: ignore[attr-defined]
    log = server.log.read_text()
    assert f"on https://127.0.0.1:{server.url.rsplit(':', 1)[1]}" in log
    for secret in (AUDIO_TOKEN, LISTENER_TOKEN, ADMIN_TOKEN):
        assert secret not in log


async def test_a_missing_ca_file_is_named(
    https_server: HttpsServer, librivox_files: list[tuple[Path, str]], tmp_path: Path
) -> None:
    missing = tmp_path / "venue-ca.pem"
    code, _, err = await stream_file(
        https_server,
        librivox_files[1][0],
        EDGE_AUDIO_TOKEN=AUDIO_TOKEN,
        EDGE_AUDIO_CA_FILE=str(missing),
    )
    assert code == 4, err
    assert f"cannot use the CA file {missing}: No such file or directory" in err


async def _follow(server: HttpsServer, *extra: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_SERVER_")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge_server.cli", "follow", "main", "--server", server.url,
        "--token", LISTENER_TOKEN, *extra,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_follow_over_https_trusts_the_venue_ca_it_is_given(
    https_server: HttpsServer, librivox_files: list[tuple[Path, str]], tmp_path: Path
) -> None:
    server = https_server
    code, _, err = await stream_file(
        server,
        librivox_files[1][0],
        EDGE_AUDIO_TOKEN=AUDIO_TOKEN,
        EDGE_AUDIO_CA_FILE=str(server.ca.ca_file),
    )
    assert code == 0, err

    # Without the CA: not trusted, said once with what to pass, and no endless retrying.
    refused = await _follow(server)
    out_b, err_b = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 1, (out_b, err_b)
    assert "TLS certificate is not trusted" in err_b.decode()
    assert "pass --ca-file" in err_b.decode()

    # A CA file that cannot be read is named, before any connection.
    missing = tmp_path / "venue-ca.pem"
    unreadable = await _follow(server, "--ca-file", str(missing))
    _, err_b = await asyncio.wait_for(unreadable.communicate(), 60)
    assert unreadable.returncode == 1
    assert f"cannot use the CA file {missing}: No such file or directory" in err_b.decode()

    # With it: the backlog arrives over wss://.
    follower = await _follow(server, "--ca-file", str(server.ca.ca_file))
    assert follower.stdout is not None
    try:
        lines: list[str] = []
        while not any("young man" in line for line in lines):
            line = await asyncio.wait_for(follower.stdout.readline(), 60)
            assert line, lines
            lines.append(line.decode())
    finally:
        follower.terminate()
        await follower.wait()
