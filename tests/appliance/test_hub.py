"""The conference hub as the playbook installs it: Redis with a password, bound to the address
the Pis reach, an append-only file; the edge-hub unit; the audio node replicating to it.

On the session's converged conference (tests/appliance/converged.py): the hub's root is the
third root of the one playbook run. Then, inside the roots, Debian's redis-server is started
from the rendered configuration, the installed ``edge-server hub`` from its settings and
environment file, and the audio node's installed room server from its own: the room shows up
on the hub's overview, having replicated through the Redis address Ansible gave it. Everything
started here listens on loopback (127.0.0.1, and 127.0.0.2 for the hub's address) and is stopped
by PID. ``appliance`` marker: root and debootstrap needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.appliance.converged import EXAMPLE_REDIS_PASSWORD, HUB_ADDRESS, Conference
from tests.appliance.rootfs import RootFs
from tests.appliance.test_appliance import (
    AUDIO_HOST,
    ROOM,
    _free_port,
    _mode,
    _serve_with_notify,
    _verify_in_root,
    report,
)
from tests.appliance.units import exec_start_argv, parse_exposure, unit_values

pytestmark = [pytest.mark.appliance, pytest.mark.timeout(2400)]

ADMIN_TOKEN = "example-admin-token-change-me"
ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}


def _env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a systemd environment file (comments aside)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _redis_conf(root: RootFs) -> dict[str, str]:
    """Redis's rendered settings (``name value``; the last of a name wins, as in Redis)."""
    values = {}
    for line in (root.path / "etc/redis/redis.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition(" ")
            values[name] = value.strip()
    return values


def _security(root: RootFs, unit: str) -> tuple[float, str]:
    done = root.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager",
         f"/etc/systemd/system/{unit}.service"]
    )  # fmt: skip
    return parse_exposure(done.stdout + done.stderr)


def _cmdlines() -> list[str]:
    """Every process's command line on this machine, as text."""
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (OSError, UnicodeDecodeError):
                continue
    return lines


# --- what the converge wrote ------------------------------------------------------------------


def test_redis_has_the_password_bind_protected_mode_and_an_append_only_file(
    conference: Conference,
) -> None:
    hub = conference.hub
    conf = _redis_conf(hub)
    assert conf["bind"].split() == ["127.0.0.1", "-::1", HUB_ADDRESS]
    assert conf["port"] == str(conference.redis_port)
    assert conf["protected-mode"] == "yes"
    assert (conf["appendonly"], conf["appendfsync"], conf["save"]) == ("yes", "everysec", '""')
    assert conf["maxmemory-policy"] == "noeviction"
    assert conf["include"] == "/etc/redis/edge-hub-auth.conf"
    assert "requirepass" not in conf, "the password has a file of its own"
    assert EXAMPLE_REDIS_PASSWORD not in (hub.path / "etc/redis/redis.conf").read_text()
    auth = hub.path / "etc/redis/edge-hub-auth.conf"
    assert f'requirepass "{EXAMPLE_REDIS_PASSWORD}"\n' in auth.read_text()
    redis_gid = next(
        int(line.split(":")[2])
        for line in (hub.path / "etc/group").read_text().splitlines()
        if line.startswith("redis:")
    )
    for path in (auth, hub.path / "etc/redis/redis.conf"):
        info = path.stat()
        assert (info.st_uid, info.st_gid, _mode(path)) == (0, redis_gid, 0o640), path
    enabled = hub.path / "etc/systemd/system/multi-user.target.wants/redis-server.service"
    assert enabled.exists(), "redis-server is enabled"


def test_hub_unit_installed_enabled_verified_and_no_more_exposed_than_the_server(
    conference: Conference, pytestconfig: pytest.Config
) -> None:
    hub = conference.hub
    unit = (hub.path / "etc/systemd/system/edge-hub.service").read_text()
    assert unit.startswith("#\n# Ansible managed")
    wants = hub.path / "etc/systemd/system/multi-user.target.wants/edge-hub.service"
    assert os.readlink(wants) == "/etc/systemd/system/edge-hub.service"
    assert _verify_in_root(hub, "edge-hub") == ""
    argv = exec_start_argv(unit)
    assert argv == [
        "/opt/edge-captions/venv/bin/edge-server", "hub", "--config", "/etc/edge-hub/edge-hub.toml"
    ]  # fmt: skip
    assert unit_values(unit, "Service", "EnvironmentFile") == ["/etc/edge-hub/edge-hub.env"]
    assert unit_values(unit, "Service", "LoadCredential")[:2] == [
        "listener-token:/etc/edge-hub/credentials/listener-token",
        "admin-token:/etc/edge-hub/credentials/admin-token",
    ]
    hub_score, hub_level = _security(hub, "edge-hub")
    server_score, _ = _security(conference.audio, "edge-server")
    report(
        pytestconfig,
        f"hub: systemd-analyze security edge-hub.service: {hub_score} {hub_level} "
        f"(edge-server.service: {server_score})",
    )
    assert hub_level in ("SAFE", "OK")
    assert hub_score <= server_score, f"edge-hub {hub_score} > edge-server {server_score}"


def test_hub_secrets_are_root_only_and_its_settings_load(conference: Conference) -> None:
    hub = conference.hub.path
    env = hub / "etc/edge-hub/edge-hub.env"
    assert _env_file(env)["EDGE_SERVER_HUB_REDIS"] == (
        f"redis://:{EXAMPLE_REDIS_PASSWORD}@127.0.0.1:{conference.redis_port}/0"
    )
    for path in (env, *sorted((hub / "etc/edge-hub/credentials").iterdir())):
        info = path.stat()
        assert (info.st_uid, info.st_gid, _mode(path)) == (0, 0, 0o600), path
    assert _mode(hub / "etc/edge-hub/credentials") == 0o700
    assert (hub / "etc/edge-hub/credentials/admin-token").read_text() == ADMIN_TOKEN
    toml = (hub / "etc/edge-hub/edge-hub.toml").read_text()
    settings = [line for line in toml.splitlines() if not line.startswith("#")]
    assert not any("redis" in line.lower() or "token" in line.lower() for line in settings)
    assert EXAMPLE_REDIS_PASSWORD not in toml
    loaded = conference.hub.run(
        ["/opt/edge-captions/venv/bin/python", "-c",
         "import pathlib; from edge_server.core.settings import load_settings; "
         "s = load_settings(pathlib.Path('/etc/edge-hub/edge-hub.toml'), {}); "
         "print(s.host, s.port, s.hub_stale_s)"]
    )  # fmt: skip
    assert loaded.stdout.split() == ["0.0.0.0", "8080", "15.0"], loaded.stderr


def test_audio_node_replicates_to_the_hub_with_a_root_only_address(
    conference: Conference,
) -> None:
    audio = conference.audio.path
    env = audio / "etc/edge-server/edge-server.env"
    assert _env_file(env)["EDGE_SERVER_REPLICATE_TO"] == (
        f"redis://:{EXAMPLE_REDIS_PASSWORD}@{HUB_ADDRESS}:{conference.redis_port}/0"
    )
    info = env.stat()
    assert (info.st_uid, info.st_gid, _mode(env)) == (0, 0, 0o600)
    unit = (audio / "etc/systemd/system/edge-server.service").read_text()
    assert EXAMPLE_REDIS_PASSWORD not in unit
    assert unit_values(unit, "Service", "EnvironmentFile") == ["-/etc/edge-server/edge-server.env"]
    for public in ("etc/edge-server/edge-server.toml", "etc/edge-audio/edge-audio.env"):
        assert EXAMPLE_REDIS_PASSWORD not in (audio / public).read_text(), public


def test_no_run_prints_the_redis_password(conference: Conference) -> None:
    runs = [*conference.runs.values(), *conference.later]
    assert "check" in conference.runs  # --check --diff included
    for run in runs:
        assert EXAMPLE_REDIS_PASSWORD not in run.output, run.log
    # The check run shows the other changes a diff would (Redis's settings file is diffable).
    assert "TASK [hub : Write Redis's configuration" in conference.runs["check"].output


def test_a_room_can_turn_replication_off(conference: Conference) -> None:
    """``edge_replicate_to: ""`` on a room: its server's environment loses the address (a
    --check --diff run on the audio node: one change, and no password printed)."""
    check = conference.run(
        "replication-off-check", "--limit", AUDIO_HOST, "--tags", "configure", "--check",
        "--diff", "-e", '{"edge_replicate_to": ""}',
    )  # fmt: skip
    assert check.recap[AUDIO_HOST].changed == 1, check.log
    assert "TASK [audio_node : Write the server's environment (root only)]" in check.output
    assert EXAMPLE_REDIS_PASSWORD not in check.output


# --- running them inside the roots ------------------------------------------------------------


@pytest.fixture
def hub_redis(conference: Conference) -> Iterator[redis.Redis]:
    """Debian's redis-server, as the redis user, from the rendered configuration only (no
    setting on its command line), inside the hub's root; stopped by PID."""
    hub = conference.hub
    log = conference.logs / "hub-redis.log"
    argv = ["chroot", "--userspec=redis:redis", str(hub.path),
            "/usr/bin/redis-server", "/etc/redis/redis.conf"]  # fmt: skip
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=ENV, stdout=out, stderr=subprocess.STDOUT)
    client = redis.Redis(
        host="127.0.0.1", port=conference.redis_port, password=EXAMPLE_REDIS_PASSWORD,
        socket_timeout=5,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(hub.path / "var/lib/redis/appendonlydir", ignore_errors=True)


def test_redis_from_the_rendered_file_refuses_without_the_password(
    conference: Conference, hub_redis: redis.Redis
) -> None:
    running = hub_redis.config_get("bind")["bind"].split()
    assert running == ["127.0.0.1", "-::1", HUB_ADDRESS]
    assert hub_redis.config_get("protected-mode") == {"protected-mode": "yes"}
    assert hub_redis.config_get("appendonly") == {"appendonly": "yes"}
    # The address the Pis use answers too (the hub's edge_address, loopback here).
    via_hub_address = redis.Redis(
        host=HUB_ADDRESS, port=conference.redis_port, password=EXAMPLE_REDIS_PASSWORD
    )
    assert via_hub_address.ping()
    via_hub_address.close()
    anonymous = redis.Redis(host="127.0.0.1", port=conference.redis_port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    anonymous.close()
    wrong = redis.Redis(host="127.0.0.1", port=conference.redis_port, password="wrong-" * 4)
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    wrong.close()
    assert not any(EXAMPLE_REDIS_PASSWORD in line for line in _cmdlines())


def _get_json(url: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        data: dict[str, object] = json.load(answer)
        return data


@contextlib.contextmanager
def _serving(
    argv: list[str], folder: Path, inside: str, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` started with a notify socket (READY=1 awaited) that is then read all along, as
    systemd does: the program's WATCHDOG=1 every 0.1 s would otherwise fill the socket's queue
    and block it."""
    with _serve_with_notify(argv, folder / "notify", f"{inside}/notify", env) as (proc, sock):
        reader = threading.Thread(target=_drain, args=(sock,), daemon=True)
        reader.start()
        yield proc
    reader.join(timeout=5)


def _drain(sock: socket.socket) -> None:
    """Read datagrams until the socket is closed (a timeout lets the loop see it)."""
    sock.settimeout(0.5)
    while True:
        try:
            sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return


def _smoke_folder(root: RootFs, name: str) -> Path:
    folder = root.path / "tmp" / name
    folder.mkdir()
    folder.chmod(0o777)
    return folder


def test_installed_hub_serves_the_room_that_replicates_through_the_rendered_addresses(
    conference: Conference, hub_redis: redis.Redis
) -> None:
    hub, audio = conference.hub, conference.audio
    hub_smoke = _smoke_folder(hub, "hub-smoke")
    audio_smoke = _smoke_folder(audio, "edge-smoke")
    # The units' credentials and environment files, as systemd would hand them over (root
    # reads them here; the programs get them in their environment, never on a command line).
    credentials = hub_smoke / "credentials"
    shutil.copytree(hub.path / "etc/edge-hub/credentials", credentials)
    for path in (credentials, *credentials.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    hub_env = {
        **ENV,
        **_env_file(hub.path / "etc/edge-hub/edge-hub.env"),
        "CREDENTIALS_DIRECTORY": "/tmp/hub-smoke/credentials",
    }
    hub_port, room_port = _free_port(), _free_port()
    hub_argv = ["chroot", "--userspec=nobody:nogroup", str(hub.path),
                "/opt/edge-captions/venv/bin/edge-server", "hub", "--config",
                "/etc/edge-hub/edge-hub.toml", "--host", "127.0.0.1",
                "--port", str(hub_port)]  # fmt: skip
    room_env = {**ENV, **_env_file(audio.path / "etc/edge-server/edge-server.env")}
    room_argv = ["chroot", "--userspec=edge-server:edge-server", str(audio.path),
                 "/opt/edge-captions/venv/bin/edge-server", "serve", "--config",
                 "/etc/edge-server/edge-server.toml", "--host", "127.0.0.1", "--port",
                 str(room_port), "--state-dir", "/tmp/edge-smoke/state"]  # fmt: skip
    overview_url = f"http://127.0.0.1:{hub_port}/api/overview"
    try:
        with _serving(hub_argv, hub_smoke, "/tmp/hub-smoke", hub_env):
            # Listening (READY=1) comes before the hub's first read of Redis ("not read yet").
            deadline = time.monotonic() + 60
            empty = _get_json(overview_url, ADMIN_TOKEN)
            while empty["hub"]["redis_error"] == "not read yet":  # type: ignore[index]
                assert time.monotonic() < deadline, empty
                time.sleep(0.5)
                empty = _get_json(overview_url, ADMIN_TOKEN)
            assert empty["rooms"] == []
            assert empty["hub"]["redis_error"] in (None, "")  # type: ignore[index]
            with pytest.raises(urllib.error.HTTPError) as refused:
                _get_json(overview_url, "not-the-admin-token")
            assert refused.value.code in (401, 403)
            with _serving(room_argv, audio_smoke, "/tmp/edge-smoke", room_env):
                deadline = time.monotonic() + 60
                rooms: list[dict[str, object]] = []
                while time.monotonic() < deadline:
                    rooms = _get_json(overview_url, ADMIN_TOKEN)["rooms"]  # type: ignore[assignment]
                    if rooms:
                        break
                    time.sleep(1)
                assert [r["room"] for r in rooms] == [ROOM], rooms
                assert rooms[0]["stale"] is False
                assert hub_redis.sismember("edge:rooms", ROOM)
                assert not any(EXAMPLE_REDIS_PASSWORD in line for line in _cmdlines())
    finally:
        shutil.rmtree(hub_smoke, ignore_errors=True)
        shutil.rmtree(audio_smoke, ignore_errors=True)
