"""A real ``redis-server`` (Debian's) for the hub benchmark: 127.0.0.1, a free port, a
password, no persistence; started and stopped by its PID. (The benchmark's own copy of what
``tests/helpers/redis_server.py`` does: ``bench`` does not import the tests.)

It also answers the benchmark's questions about memory: ``INFO memory``'s ``used_memory``,
a stream's length and ``MEMORY USAGE``, and how a stream bounded like a room's
(``XADD ... MAXLEN ~ n``) grows per final and where it stops (:meth:`fill_bound`).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redis


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RedisProcess:
    """One redis-server process for the length of a benchmark run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.password = secrets.token_hex(12)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://:PASSWORD@127.0.0.1:PORT/0``."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's PID (for its CPU)."""
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout_s: float = 15.0) -> RedisProcess:
        """Start it and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run scripts/setup-system.sh test")
        self.folder.mkdir(parents=True, exist_ok=True)
        # The password goes in through stdin's config, not the process list.
        self.proc = subprocess.Popen(
            [binary, "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        config = (
            f'port {self.port}\nbind 127.0.0.1\nrequirepass {self.password}\nsave ""\n'
            f"appendonly no\ndir {self.folder}\nlogfile {self.folder / 'redis.log'}\n"
            "daemonize no\n"
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(config.encode())
        self.proc.stdin.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            with contextlib.suppress(OSError):
                if self.ask("PING") == b"+PONG":
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer in {timeout_s} s")

    def ask(self, *words: str) -> bytes:
        """One command's raw reply (after AUTH): a simple line, an integer or a bulk string."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(_command("AUTH", self.password) + _command(*words))
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    raise OSError("redis closed the connection")
                data += chunk
                if b"\r\n" not in data:
                    continue
                auth, _, rest = data.partition(b"\r\n")
                if auth != b"+OK" and auth:
                    raise OSError(f"AUTH refused: {auth!r}")
                if rest.startswith(b"$"):
                    head, _, body = rest.partition(b"\r\n")
                    size = int(head[1:])
                    if size < 0:
                        return b""
                    if len(body) >= size + 2:
                        return body[:size]
                elif rest.endswith(b"\r\n"):
                    return rest[:-2]

    def info(self, section: str, field: str) -> int:
        """One integer field of ``INFO section`` (``memory``/``used_memory``, ...)."""
        for line in self.ask("INFO", section).decode().splitlines():
            if line.startswith(field + ":"):
                return int(line.split(":", 1)[1])
        raise RuntimeError(f"INFO {section} has no {field}")

    def used_memory(self) -> int:
        """``INFO memory``'s ``used_memory`` in bytes."""
        return self.info("memory", "used_memory")

    def xlen(self, key: str) -> int:
        """The length of a stream (0 when it does not exist)."""
        return int(self.ask("XLEN", key)[1:])

    def client(self) -> redis.Redis:
        """A (synchronous) client of this server."""
        return redis.Redis.from_url(self.url)

    def memory_usage(self, key: str) -> int:
        """``MEMORY USAGE key SAMPLES 0``: the key's bytes, every element counted."""
        with self.client() as client:
            return int(client.memory_usage(key, samples=0) or 0)

    def fill_bound(self, source_key: str, maxlen: int, adds: int) -> dict[str, Any]:
        """Add ``adds`` copies of ``source_key``'s last entry (a real final as a room
        replicated it) to a scratch stream, bounded as the rooms bound theirs
        (``MAXLEN ~ maxlen``); its length and bytes per entry before and after the bound bit,
        then delete it."""
        scratch = "bench:fill"
        with self.client() as client:
            last: Any = client.xrevrange(source_key, count=1)
            fields = last[0][1]
            found: dict[str, Any] = {"maxlen": maxlen, "adds": adds, "entry_bytes": sum(
                len(k) + len(v) for k, v in fields.items())}  # fmt: skip
            half = maxlen // 2
            for done in range(0, adds, 1000):
                pipe = client.pipeline(transaction=False)
                for _ in range(min(1000, adds - done)):
                    pipe.xadd(scratch, fields, maxlen=maxlen, approximate=True)
                pipe.execute()
                if done + 1000 == half:
                    found["bytes_per_entry_at_half"] = round(
                        int(client.memory_usage(scratch, samples=0) or 0)
                        / int(client.xlen(scratch))
                    )
            found["length_after"] = int(client.xlen(scratch))
            found["bytes_after"] = int(client.memory_usage(scratch, samples=0) or 0)
            found["bytes_per_entry"] = round(found["bytes_after"] / found["length_after"])
            client.delete(scratch)
        return found

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 10 s; again is harmless."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
